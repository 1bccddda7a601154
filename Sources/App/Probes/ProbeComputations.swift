import Foundation
import SAECore

/// The work the probes screen's background jobs do: plain functions over Core, run off the UI
/// thread, reporting through the job's context and stopping when it is cancelled.
enum ProbeComputations {
    /// Reads every dataset named by `paths`: a statements CSV (or its activations file), or a
    /// folder whose CSVs are read in name order, a negated twin (`neg_x`) right after `x` so the
    /// matrix pairs them. Names must be unique (they label the matrix) and every dataset must
    /// have the same activation width.
    static func load(paths: [String], context: JobCenter.Context) throws -> [ProbeDataset] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw SaescopeError("no such probe dataset or folder", file: path)
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".csv") }
                    .sorted { twinOrder($0) < twinOrder($1) }
                guard !names.isEmpty else { throw SaescopeError("the folder holds no statements CSV", file: path) }
                files += names.map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        var datasets: [ProbeDataset] = []
        for (i, file) in files.enumerated() {
            if context.isCancelled { throw SaescopeError("cancelled") }
            context.progress(Double(i) / Double(files.count), "reading \((file as NSString).lastPathComponent)")
            let dataset = try ProbeDataset(path: file)
            if let twin = datasets.first(where: { $0.name == dataset.name }) {
                throw SaescopeError("two probe datasets are named \(dataset.name) (\(twin.csvPath))", file: dataset.csvPath)
            }
            if let first = datasets.first, first.dimension != dataset.dimension {
                throw SaescopeError("activation width \(dataset.dimension) differs from \(first.name)'s \(first.dimension)", file: dataset.activationsPath)
            }
            datasets.append(dataset)
        }
        return datasets
    }

    private static func twinOrder(_ file: String) -> (String, Int, String) {
        file.hasPrefix("neg_") ? (String(file.dropFirst(4)), 1, file) : (file, 0, file)
    }

    /// The PCA basis of the union of `basis` and every dataset's coordinates on its components.
    static func project(datasets: [ProbeDataset], basis: [String], context: JobCenter.Context) throws -> PCAProjection {
        context.progress(nil, "fitting the basis of \(basis.joined(separator: "+"))")
        let pca = try PCABasis(fitting: datasets.filter { basis.contains($0.name) }, maxComponents: ProbesState.maxComponents)
        var coordinates: [Matrix] = []
        for (i, dataset) in datasets.enumerated() {
            if context.isCancelled { throw SaescopeError("cancelled") }
            context.progress(Double(i) / Double(datasets.count), "projecting \(dataset.name)")
            coordinates.append(try pca.project(dataset, offset: 0, count: pca.components.rows))
        }
        return PCAProjection(basis: basis, ratios: pca.explainedVarianceRatio, coordinates: coordinates)
    }

    /// The train x test matrix for `key` over the datasets that have its label, one probe at a time.
    static func matrix(datasets: [ProbeDataset], trainSpecs: [String], key: ProbeMatrixKey,
                       context: JobCenter.Context) throws -> GeneralizationMatrix {
        context.progress(0, "training \(key.method.rawValue) probes")
        return try GeneralizationMatrix.compute(datasets: datasets, trainSpecs: trainSpecs, method: key.method, label: key.label) { done, total in
            if context.isCancelled { throw SaescopeError("cancelled") }
            context.progress(Double(done) / Double(total), "\(done) / \(total) probes")
        }
    }

    /// The features whose decoder rows are most (and least) aligned with `direction`; builds the
    /// aligner (the dictionary's decoder row norms) when none is given yet.
    static func align(direction: [Double], sae: SparseAutoencoder, aligner: FeatureAlignment?, excluding: Set<Int> = [],
                      context: JobCenter.Context) throws -> AlignmentOutcome {
        context.progress(nil, aligner == nil ? "decoder norms" : "cosines")
        let aligner = aligner ?? FeatureAlignment(sae: sae)
        if context.isCancelled { throw SaescopeError("cancelled") }
        return AlignmentOutcome(aligner: aligner, result: try aligner.top(ProbesState.alignedCount, for: direction, excluding: excluding))
    }
}

extension ProbeComputations {
    /// SAEBench's sparse probing for `key`: encodes the datasets not encoded yet (`codes`, by
    /// name) with the dictionary's full activation rule, then the k-latent matrix.
    static func sparse(datasets: [ProbeDataset], codes: [String: LatentCodes], sae: SparseAutoencoder, trainSpecs: [String],
                       key: SparseMatrixKey, context: JobCenter.Context) throws -> SparseOutcome {
        var codes = codes
        for (i, dataset) in datasets.enumerated() where codes[dataset.name] == nil {
            if context.isCancelled { throw SaescopeError("cancelled") }
            context.progress(Double(i) / Double(datasets.count + 1), "encoding \(dataset.name) with the dictionary")
            codes[dataset.name] = LatentCodes(encoding: dataset.activations, with: sae)
        }
        if context.isCancelled { throw SaescopeError("cancelled") }
        context.progress(Double(datasets.count) / Double(datasets.count + 1), "lr-l2 on the top \(key.k) latents")
        let matrix = try SparseProbeMatrix.compute(datasets: datasets, codes: datasets.map { codes[$0.name]! }, trainSpecs: trainSpecs,
                                                   k: key.k, label: key.label)
        return SparseOutcome(codes: codes, matrix: matrix)
    }
}

/// A sparse-probing job's result, with the encodings it made (kept for the next k).
struct SparseOutcome: Sendable {
    var codes: [String: LatentCodes]
    var matrix: SparseProbeMatrix
}

/// An alignment job's result, with the aligner it built (kept for the next probe).
struct AlignmentOutcome: Sendable {
    var aligner: FeatureAlignment
    var result: FeatureAlignmentResult
}
