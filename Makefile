# saescope: `make run` and `make test` install what a fresh Debian/Ubuntu machine lacks, then build.
SWIFT ?= swift
DEB_PACKAGES := libopenblas-dev liblapacke-dev libncursesw5-dev zlib1g-dev libsqlite3-dev tmux
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SAMPLE_SAE := samples/dictionaries/dictionary_learning/trainer_0
SAMPLE_ACTS := samples/activations/smollm2_l15_pride_and_prejudice.safetensors

# What the tests use as references besides numpy: a CommonMark renderer for the Markdown export,
# and SAEDashboard's Neuronpedia batch and runner-config classes for the json export (the package
# alone, without its torch/transformer-lens dependencies: those two modules need only numpy), and
# scikit-learn's LogisticRegression for the sparse probes.
PY_TEST_PACKAGES := markdown-it-py==4.0.0 mdurl==0.1.2 scikit-learn==1.9.1
PY_TEST_NODEPS := sae-dashboard==0.8.0

.PHONY: run test build deps test-deps bench clean model-env

# The model bridge's pinned Python environment (tools/model_env.py says where it lives).
MODEL_PYTHON = $(shell python3 tools/model_env.py path)


# In a terminal: the browser on the bundled sample; otherwise (scripts, CI logs) its eval table.
run: deps
	$(SWIFT) build -c release --product saescope
	@if [ -t 0 ] && [ -t 1 ]; then .build/release/saescope; \
	else .build/release/saescope eval --sae $(SAMPLE_SAE) --acts $(SAMPLE_ACTS); fi

# Swift tests, then the Python package's tests with the pinned environment (never skipped).
test: deps test-deps model-env
	$(SWIFT) build --build-tests
	$(SWIFT) test --disable-swift-testing
	cd tools && $(MODEL_PYTHON) -m pytest tests -q -p no:cacheprovider

# Creates the pinned environment once per version of tools/requirements-model.txt (a few minutes).
model-env:
	@command -v python3 >/dev/null || { echo "the model environment needs python3 (3.10 or newer) with venv"; exit 1; }
	@python3 -c "import ensurepip, venv" 2>/dev/null || { echo "installing: python3-venv"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; }
	@python3 tools/model_env.py create >/dev/null

build: deps
	$(SWIFT) build -c release --product saescope

# Installs the Debian packages that are missing (nothing when all are present).
deps:
	@command -v $(SWIFT) >/dev/null || { echo "saescope needs the Swift 6 toolchain (swift.org/install) on PATH"; exit 1; }
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# Installs the Python test references when they are missing (PEP 668 systems need the override).
test-deps:
	@python3 -c "import numpy, markdown_it, sklearn, sae_dashboard.neuronpedia.neuronpedia_dashboard" 2>/dev/null || { \
		echo "installing the Python test references: $(PY_TEST_PACKAGES) $(PY_TEST_NODEPS)"; \
		PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet numpy $(PY_TEST_PACKAGES) && \
		PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --no-deps $(PY_TEST_NODEPS); }

bench: build
	.build/release/saescope bench index

clean:
	rm -rf .build
