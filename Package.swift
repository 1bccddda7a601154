// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "saescope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "saescope", targets: ["saescope"]),
        .library(name: "SAECore", targets: ["SAECore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System BLAS (OpenBLAS on Debian/Ubuntu): the only C dependency of the analysis core.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // LAPACK's C interface, for the probes' and PCA's decompositions.
        .systemLibrary(
            name: "CLAPACK",
            path: "Sources/CLAPACK",
            providers: [.apt(["liblapacke-dev"])]
        ),
        // zlib, for gzip-compressed exports.
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // SQLite, for the labels store (interpretations kept across launches and processes).
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // ncursesw: imported by the Terminal target only.
        .systemLibrary(
            name: "CNcurses",
            path: "Sources/CNcurses",
            providers: [.apt(["libncursesw5-dev"])]
        ),
        // The encoder's and the metrics' inner loops in C, AVX-512/AVX2/scalar chosen at run time
        // (Swift is built for baseline x86-64, whose SIMD is 4 wide).
        .target(name: "CKernels", path: "Sources/CKernels"),
        // Analysis core: file formats, SAE math, metrics. Knows nothing of terminals.
        .target(
            name: "SAECore",
            dependencies: ["CBLAS", "CLAPACK", "CZlib", "CSQLite", "CKernels"],
            path: "Sources/SAECore"
        ),
        // Command line: argument parsing and subcommands.
        .executableTarget(
            name: "saescope",
            dependencies: [
                "SAECore", "TUI", "Widgets", "Terminal", "App",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/saescope"
        ),
        // Terminal UI primitives: cells, buffer, layout, styles, themes, keys. Pure Swift, no C imports.
        .target(name: "TUI", path: "Sources/TUI"),
        // Widgets drawn into a TUI Buffer from plain data; know nothing of the app.
        .target(name: "Widgets", dependencies: ["TUI"], path: "Sources/Widgets"),
        // The only importer of ncurses: terminal set-up, input decoding, drawing a Buffer, restore.
        .target(name: "Terminal", dependencies: ["TUI", "CNcurses"], path: "Sources/Terminal"),
        // The application: model, messages, update, screens, background jobs. Never calls ncurses.
        .target(name: "App", dependencies: ["SAECore", "TUI", "Widgets"], path: "Sources/App"),
        .testTarget(
            name: "SAECoreTests",
            dependencies: ["SAECore", "CKernels", "CBLAS", "TestSupport"],
            path: "Tests/SAECoreTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SaescopeCLITests",
            dependencies: ["saescope", "SAECore", "TestSupport"],
            path: "Tests/SaescopeCLITests"
        ),
        .testTarget(
            name: "WidgetsTests",
            dependencies: ["Widgets", "TUI"],
            path: "Tests/WidgetsTests",
            exclude: ["Snapshots"]
        ),
        // Test helpers shared by test targets: running programs, driving tmux.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "TerminalTests",
            dependencies: ["Terminal", "TUI", "TestSupport"],
            path: "Tests/TerminalTests"
        ),
        .testTarget(
            name: "AppTests",
            dependencies: ["App", "SAECore", "TUI", "Widgets", "TestSupport"],
            path: "Tests/AppTests",
            exclude: ["Snapshots"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
