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
        // Analysis core: file formats, SAE math, metrics. Knows nothing of terminals.
        .target(
            name: "SAECore",
            dependencies: ["CBLAS", "CLAPACK", "CZlib"],
            path: "Sources/SAECore"
        ),
        // Command line: argument parsing and subcommands.
        .executableTarget(
            name: "saescope",
            dependencies: [
                "SAECore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/saescope"
        ),
        // Terminal UI primitives: cells, buffer, layout, styles, themes, keys. Pure Swift, no C imports.
        .target(name: "TUI", path: "Sources/TUI"),
        // Widgets drawn into a TUI Buffer from plain data; know nothing of the app.
        .target(name: "Widgets", dependencies: ["TUI"], path: "Sources/Widgets"),
        .testTarget(
            name: "SAECoreTests",
            dependencies: ["SAECore"],
            path: "Tests/SAECoreTests",
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "SaescopeCLITests",
            dependencies: ["saescope", "SAECore"],
            path: "Tests/SaescopeCLITests"
        ),
        .testTarget(
            name: "WidgetsTests",
            dependencies: ["Widgets", "TUI"],
            path: "Tests/WidgetsTests",
            exclude: ["Snapshots"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
