import Foundation
import XCTest

/// Issue #18's eval and index additions against float64 numpy: `--exclude-special` (rows holding
/// the cache's BOS/EOS/PAD ids out of everything), `--by-position` (exact counts per position),
/// the per-feature `consistent_activation_heuristic`, `--saebench-json` checked against the field
/// list of SAEBench's `evals/core/eval_output.py`, and the index's stored core statistics and
/// position buckets.
final class SAEBenchEvalCommandTests: XCTestCase {
    let fixtures = SaescopeBinary.fixtures

    /// SAEBench's core schema, copied from `sae_bench/evals/core/eval_output.py`,
    /// `base_eval_output.py` and `core/eval_config.py` (commit 8042bb3 of adamkarvonen/SAEBench).
    private let schema = """
    TOP_LEVEL = {'eval_type_id', 'eval_config', 'eval_id', 'datetime_epoch_millis', 'eval_result_metrics',
                 'eval_result_details', 'sae_bench_commit_hash', 'sae_lens_id', 'sae_lens_release_id',
                 'sae_lens_version', 'sae_cfg_dict', 'eval_result_unstructured'}
    CATEGORIES = {
        'model_behavior_preservation': {'kl_div_score', 'kl_div_with_ablation', 'kl_div_with_sae'},
        'model_performance_preservation': {'ce_loss_score', 'ce_loss_with_ablation', 'ce_loss_with_sae', 'ce_loss_without_sae'},
        'reconstruction_quality': {'explained_variance', 'explained_variance_legacy', 'mse', 'cossim'},
        'shrinkage': {'l2_norm_in', 'l2_norm_out', 'l2_ratio', 'relative_reconstruction_bias'},
        'sparsity': {'l0', 'l1'},
        'token_stats': {'total_tokens_eval_reconstruction', 'total_tokens_eval_sparsity_variance'},
        'misc_metrics': {'freq_over_1_percent', 'freq_over_10_percent', 'normalized_freq_over_1_percent',
                         'normalized_freq_over_10_percent', 'average_max_encoder_cosine_sim',
                         'average_max_decoder_cosine_sim', 'frac_alive'},
    }
    INT_FIELDS = {'total_tokens_eval_reconstruction', 'total_tokens_eval_sparsity_variance'}
    DETAIL = {'index', 'feature_density', 'consistent_activation_heuristic', 'encoder_bias', 'encoder_norm',
              'encoder_decoder_cosine_sim', 'max_decoder_cosine_sim', 'max_encoder_cosine_sim'}
    CONFIG = {'model_name': str, 'llm_dtype': str, 'batch_size_prompts': int, 'n_eval_reconstruction_batches': int,
              'n_eval_sparsity_variance_batches': int, 'dataset': str, 'context_size': int, 'compute_kl': bool,
              'compute_ce_loss': bool, 'compute_l2_norms': bool, 'compute_sparsity_metrics': bool,
              'compute_variance_metrics': bool, 'compute_featurewise_density_statistics': bool,
              'compute_featurewise_weight_based_metrics': bool, 'exclude_special_tokens_from_reconstruction': bool,
              'verbose': bool}
    def validate(out, with_model):
        assert set(out) == TOP_LEVEL, set(out) ^ TOP_LEVEL
        assert out['eval_type_id'] == 'core'
        assert isinstance(out['datetime_epoch_millis'], int) and 0 <= out['datetime_epoch_millis'] <= 9999999999999
        assert isinstance(out['eval_id'], str) and isinstance(out['sae_bench_commit_hash'], str)
        assert isinstance(out['sae_cfg_dict'], dict)
        config = out['eval_config']
        assert set(config) == set(CONFIG), set(config) ^ set(CONFIG)
        for key, kind in CONFIG.items(): assert type(config[key]) is kind, (key, config[key])
        wanted = set(CATEGORIES) if with_model else set(CATEGORIES) - {'model_behavior_preservation', 'model_performance_preservation'}
        metrics = out['eval_result_metrics']
        assert set(metrics) == wanted, set(metrics) ^ wanted
        for category in wanted:
            assert set(metrics[category]) == CATEGORIES[category], (category, set(metrics[category]) ^ CATEGORIES[category])
            for key, value in metrics[category].items():
                assert type(value) is (int if key in INT_FIELDS else float), (key, value)
        for i, detail in enumerate(out['eval_result_details']):
            assert set(detail) == DETAIL, set(detail) ^ DETAIL
            assert detail['index'] == i and all(type(detail[k]) is float for k in DETAIL - {'index'}), detail

    """

    /// numpy helpers: safetensors reading (F32/F64/I64), the core metrics, the masks and positions.
    private let reference = """
    import json, struct, sys
    import numpy as np
    def read(path):
        raw = open(path, 'rb').read()
        n = struct.unpack('<Q', raw[:8])[0]
        header = json.loads(raw[8:8 + n])
        out = {}
        kinds = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4'}
        for name, h in header.items():
            if name == '__metadata__' or h['dtype'] not in kinds: continue
            begin, end = h['data_offsets']
            out[name] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=kinds[h['dtype']]).reshape(h['shape'])
        return out, header.get('__metadata__', {})
    def close(got, want, label, tol=1e-6):
        assert abs(got - want) <= tol * max(abs(want), 1e-12), (label, got, want)
    def unit(rows):
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return np.where(norms > 0, rows / np.where(norms > 0, norms, 1), 0.0)
    def max_other(rows):
        u = unit(rows)
        c = u @ u.T
        np.fill_diagonal(c, -np.inf)
        return c.max(axis=1)
    def positions(offsets, n):
        pos = np.zeros(n, dtype=np.int64); seq = np.zeros(n, dtype=np.int64)
        for s in range(len(offsets) - 1):
            pos[offsets[s]:offsets[s + 1]] = np.arange(offsets[s + 1] - offsets[s]); seq[offsets[s]:offsets[s + 1]] = s
        return pos, seq
    def bucket(p):
        return p if p < 32 else 32 + int(np.floor(np.log2(p // 32)))
    def check_eval(got, x, f, x_hat, seq, pos, W_enc, W_dec):
        sse = ((x - x_hat) ** 2).sum(axis=1)
        close(got['mse'], sse.mean(), 'mse')
        close(got['explained_variance'], 1 - sse.sum() / ((x - x.mean(axis=0)) ** 2).sum(), 'explained_variance')
        close(got['l0'], (f != 0).sum(axis=1).mean(), 'l0')
        density = (f > 0).mean(axis=0); total = density.sum()
        close(got['l1'], np.abs(f).sum(axis=1).mean(), 'l1')
        cos = (x * x_hat).sum(axis=1) / (np.maximum(np.linalg.norm(x, axis=1), 1e-8) * np.maximum(np.linalg.norm(x_hat, axis=1), 1e-8))
        close(got['cos_sim'], cos.mean(), 'cos_sim')
        close(got['relative_reconstruction_bias'], (x_hat * x_hat).sum() / (x * x_hat).sum(), 'relative_reconstruction_bias')
        close(got['frac_alive'], (f != 0).any(axis=0).mean(), 'frac_alive')
        close(got['freq_over_1_percent'], (density > 0.01).mean(), 'freq1')
        close(got['freq_over_10_percent'], (density > 0.1).mean(), 'freq10')
        close(got['normalized_freq_over_1_percent'], density[density > 0.01].sum() / total, 'nfreq1')
        close(got['normalized_freq_over_10_percent'], density[density > 0.1].sum() / total, 'nfreq10')
        close(got['average_max_decoder_cosine_sim'], max_other(W_dec).mean(), 'dec')
        close(got['average_max_encoder_cosine_sim'], max_other(W_enc.T).mean(), 'enc')
        close(got['encoder_decoder_cosine_sim'], (unit(W_dec) * unit(W_enc.T)).sum(axis=1).mean(), 'enc-dec')
        close(got['projection_scale'], (x * x_hat).sum() / (x_hat * x_hat).sum(), 'projection_scale')
        tokens = (f > 0).sum(axis=0)
        sequences = np.array([len(set(seq[f[:, j] > 0])) for j in range(f.shape[1])])
        heuristic = np.where(sequences > 0, tokens / np.maximum(sequences, 1), np.nan)
        close(got['mean_consistent_activation_heuristic'], np.nanmean(heuristic), 'mean heuristic')
        rows = got['by_position']
        assert [r['position'] for r in rows] == list(range(len(rows))) and len(rows) == pos.max() + 1, [r['position'] for r in rows]
        for r in rows:
            at = pos == r['position']
            assert r['n'] == int(at.sum()), (r, int(at.sum()))
            if r['n'] == 0:
                assert r['mse'] is None and r['l0'] is None, r
                continue
            close(r['mse'], sse[at].mean(), 'mse at %d' % r['position'])
            close(r['l0'], (f[at] != 0).sum(axis=1).mean(), 'l0 at %d' % r['position'])
            if r['n'] > 1:
                close(r['explained_variance'], 1 - sse[at].sum() / ((x[at] - x[at].mean(axis=0)) ** 2).sum(), 'ev at %d' % r['position'])
        return tokens, sequences, heuristic

    """

    /// A random ReLU dictionary over a cache of three sequences (100, 37 and 70 rows: position
    /// buckets past 32), BOS id 1 at every sequence start, EOS id 2 at two ends and inside one
    /// sequence, with `config` as its cfg.json metadata.
    private func makeRandomCase(_ directory: URL, excludeInConfig: Bool) throws -> (sae: String, acts: String) {
        let sae = directory.appendingPathComponent("sae").path, acts = directory.appendingPathComponent("cache.safetensors").path
        try python("""
        import json, os, struct
        import numpy as np
        rng = np.random.default_rng(11)
        d, f = 10, 40
        def write(path, tensors, metadata):
            header, blobs, offset = {}, [], 0
            if metadata: header['__metadata__'] = metadata
            for name, array in tensors.items():
                blob = array.tobytes()
                kind = {'float32': 'F32', 'int64': 'I64'}[str(array.dtype)]
                header[name] = {'dtype': kind, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(blob)]}
                blobs.append(blob); offset += len(blob)
            text = json.dumps(header).encode()
            open(path, 'wb').write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
        os.makedirs('\(sae)')
        W_enc = rng.normal(size=(d, f)).astype('<f4'); W_dec = rng.normal(size=(f, d)).astype('<f4')
        b_enc = (rng.normal(size=f) - 2.0).astype('<f4'); b_dec = (rng.normal(size=d) * 0.1).astype('<f4')
        write('\(sae)/sae_weights.safetensors', {'W_dec': W_dec, 'W_enc': W_enc, 'b_dec': b_dec, 'b_enc': b_enc}, None)
        json.dump({'architecture': 'standard', 'd_in': d, 'd_sae': f, 'dtype': 'float32', 'device': 'cpu',
                   'apply_b_dec_to_input': True, 'normalize_activations': 'none',
                   'metadata': {'model_name': 'fixture', 'hook_name': 'blocks.0.hook_resid_post', 'context_size': 100,
                                'exclude_special_tokens': \(excludeInConfig ? "True" : "False")}},
                  open('\(sae)/cfg.json', 'w'))
        lengths = [100, 37, 70]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype('<i8')
        n = int(offsets[-1])
        tokens = rng.integers(3, 50, size=n).astype('<i8')
        tokens[offsets[:-1]] = 1
        tokens[offsets[1] - 1] = 2; tokens[offsets[3] - 1] = 2; tokens[150] = 2
        x = rng.normal(size=(n, d)).astype('<f4')
        x[offsets[:-1]] *= 50   # a BOS row far above the rest, as on Llama-family models
        write('\(acts)', {'acts': x, 'tokens': tokens, 'seq_offsets': offsets},
              {'model': 'fixture', 'bos_token_id': '1', 'eos_token_id': '2', 'ctx': '100'})
        print('ok')
        """)
        return (sae, acts)
    }

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saescope-saebench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    func testExcludeSpecialByPositionAndSAEBenchJSONMatchNumpy() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (sae, acts) = try makeRandomCase(directory, excludeInConfig: false)
        let saebench = directory.appendingPathComponent("core.json").path
        for exclude in [false, true] {
            let result = try SaescopeBinary.run(["eval", "--sae", sae, "--acts", acts, "--by-position", "--json", "--saebench-json", saebench, "--force"]
                                                + (exclude ? ["--exclude-special"] : []))
            XCTAssertEqual(result.status, 0, result.stderr)
            let out = directory.appendingPathComponent("eval.json")
            try result.stdout.write(to: out, atomically: true, encoding: .utf8)
            try python(reference + schema + """
            got = json.load(open('\(out.path)'))
            cache, meta = read('\(acts)')
            w, _ = read('\(sae)/sae_weights.safetensors')
            w = {k: v.astype(np.float64) for k, v in w.items()}
            x_all = cache['acts'].astype(np.float64); tokens_all = cache['tokens']
            pos_all, seq_all = positions(cache['seq_offsets'], len(x_all))
            keep = ~np.isin(tokens_all, [1, 2]) if \(exclude ? "True" : "False") else np.ones(len(x_all), bool)
            x, pos, seq = x_all[keep], pos_all[keep], seq_all[keep]
            f = np.maximum((x - w['b_dec']) @ w['W_enc'] + w['b_enc'], 0)
            x_hat = f @ w['W_dec'] + w['b_dec']
            tokens, sequences, heuristic = check_eval(got, x, f, x_hat, seq, pos, w['W_enc'], w['W_dec'])
            assert got['rows']['evaluated'] == int(keep.sum()) and got['rows']['exclude_special'] == \(exclude ? "True" : "False"), got['rows']
            if \(exclude ? "True" : "False"):
                assert got['rows']['excluded_special'] == 6 and got['by_position'][0]['n'] == 0, got['rows']
            out = json.load(open('\(saebench)'))
            validate(out, with_model=False)
            details = out['eval_result_details']
            assert len(details) == 40
            for j, detail in enumerate(details):
                close(detail['feature_density'], tokens[j] / len(x), 'density %d' % j)
                want = -1.0 if np.isnan(heuristic[j]) else heuristic[j]
                close(detail['consistent_activation_heuristic'], want, 'heuristic %d' % j)
                close(detail['encoder_norm'], np.linalg.norm(w['W_enc'][:, j]), 'encoder_norm %d' % j)
                close(detail['encoder_bias'], w['b_enc'][j], 'encoder_bias %d' % j)
                close(detail['max_decoder_cosine_sim'], max_other(w['W_dec'])[j], 'max dec %d' % j, 1e-5)
                close(detail['max_encoder_cosine_sim'], max_other(w['W_enc'].T)[j], 'max enc %d' % j, 1e-5)
                close(detail['encoder_decoder_cosine_sim'], (unit(w['W_dec']) * unit(w['W_enc'].T)).sum(axis=1)[j], 'enc-dec %d' % j, 1e-5)
            m = out['eval_result_metrics']
            close(m['reconstruction_quality']['mse'], got['mse'], 'saebench mse', 1e-12)
            close(m['shrinkage']['l2_norm_in'], np.linalg.norm(x, axis=1).mean(), 'l2_norm_in')
            close(m['shrinkage']['l2_norm_out'], np.linalg.norm(x_hat, axis=1).mean(), 'l2_norm_out')
            close(m['misc_metrics']['normalized_freq_over_1_percent'], got['normalized_freq_over_1_percent'], 'misc', 1e-12)
            assert m['token_stats']['total_tokens_eval_sparsity_variance'] == len(x)
            assert out['eval_config']['exclude_special_tokens_from_reconstruction'] == \(exclude ? "True" : "False")
            assert out['eval_config']['context_size'] == 100 and out['eval_config']['model_name'] == 'fixture'
            print('ok')
            """)
        }
    }

    /// The index pass stores what eval computes: the same core metrics (summary JSON), per-feature
    /// token and sequence counts and position buckets equal to numpy's; the file name says the setting.
    func testIndexStoresCoreStatisticsAndPositionBuckets() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (sae, acts) = try makeRandomCase(directory, excludeInConfig: true)
        // The dictionary's config says it was trained without special tokens: on by default.
        let eval = try SaescopeBinary.run(["eval", "--sae", sae, "--acts", acts, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertTrue(eval.stderr.contains("metadata.exclude_special_tokens in cfg.json"), eval.stderr)
        let home = directory.appendingPathComponent("home").path
        let index = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--json"], environment: ["XDG_CACHE_HOME": home])
        XCTAssertEqual(index.status, 0, index.stderr)
        let kept = try SaescopeBinary.run(["eval", "--sae", sae, "--acts", acts, "--json", "--no-exclude-special"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        let keptIndex = try SaescopeBinary.run(["index", "--sae", sae, "--acts", acts, "--json", "--no-exclude-special"],
                                               environment: ["XDG_CACHE_HOME": home])
        XCTAssertEqual(keptIndex.status, 0, keptIndex.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: home + "/saescope").sorted()
        XCTAssertEqual(files.count, 2, "\(files)")
        XCTAssertEqual(files.filter { $0.hasSuffix(".exclude-special.index.safetensors") }.count, 1, "\(files)")
        for (name, text) in [("eval", eval.stdout), ("index", index.stdout), ("kept", kept.stdout), ("keptIndex", keptIndex.stdout)] {
            try text.write(to: directory.appendingPathComponent("\(name).json"), atomically: true, encoding: .utf8)
        }
        try python(reference + """
        import glob
        d = '\(directory.path)'
        for evaluated, indexed, exclude in [('eval', 'index', True), ('kept', 'keptIndex', False)]:
            got = json.load(open(d + '/%s.json' % evaluated))
            summary = json.load(open(d + '/%s.json' % indexed))
            for key in ['mse', 'l0', 'freq_over_1_percent', 'normalized_freq_over_10_percent', 'average_max_decoder_cosine_sim',
                        'encoder_decoder_cosine_sim', 'projection_scale', 'mean_consistent_activation_heuristic']:
                # Float32 rounding apart: the index encodes its rows in other chunks (each with its
                # context rows), so a chunk can take the screened path where eval's takes the sgemm
                # (or another BLAS family's blocking): last bits of codes differ, 3e-9 relative in mse.
                close(summary['metrics'][key], got[key], key + ' index vs eval', 1e-7)
            assert summary['rows']['exclude_special'] == exclude and got['rows']['evaluated'] == summary['rows']['evaluated']
            cache, _ = read('\(acts)')
            w, _ = read('\(sae)/sae_weights.safetensors')
            w = {k: v.astype(np.float64) for k, v in w.items()}
            x_all = cache['acts'].astype(np.float64)
            pos_all, seq_all = positions(cache['seq_offsets'], len(x_all))
            keep = ~np.isin(cache['tokens'], [1, 2]) if exclude else np.ones(len(x_all), bool)
            x, pos, seq = x_all[keep], pos_all[keep], seq_all[keep]
            f = np.maximum((x - w['b_dec']) @ w['W_enc'] + w['b_enc'], 0)
            x_hat = f @ w['W_dec'] + w['b_dec']
            stored, meta = read(summary['out'])
            assert (stored['core_feature_tokens'] == (f > 0).sum(axis=0)).all()
            assert (stored['core_feature_sequences'] == [len(set(seq[f[:, j] > 0])) for j in range(f.shape[1])]).all()
            buckets = np.array([bucket(p) for p in pos])
            assert len(stored['core_position_count']) == buckets.max() + 1 == 34, len(stored['core_position_count'])
            sse = ((x - x_hat) ** 2).sum(axis=1)
            for b in range(buckets.max() + 1):
                at = buckets == b
                assert stored['core_position_count'][b] == at.sum(), (b, stored['core_position_count'][b], at.sum())
                close(stored['core_position_squared_error'][b], sse[at].sum(), 'bucket sse %d' % b)
                assert stored['core_position_active'][b] == (f[at] != 0).sum()
            rows = json.loads(meta['core_rows'])
            assert (rows['excluded_special'] == 6) if exclude else rows['excluded_special'] is None, rows
            assert json.loads(meta['options']).get('excludeSpecial', False) == exclude
        print('ok')
        """)
    }

    func testDictionaryLearningRemoveBOSTurnsExclusionOnAndBadCachesFailClearly() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = directory.appendingPathComponent("trainer_0")
        try FileManager.default.createDirectory(at: trainer, withIntermediateDirectories: true)
        let source = fixtures.appendingPathComponent("dictionaries/dl_autoencoder")
        try FileManager.default.copyItem(at: source.appendingPathComponent("ae.pt"), to: trainer.appendingPathComponent("ae.pt"))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
        var withBuffer = config
        withBuffer["buffer"] = ["remove_bos": true, "ctx_len": 16]
        try JSONSerialization.data(withJSONObject: withBuffer).write(to: trainer.appendingPathComponent("config.json"))
        let cache = fixtures.appendingPathComponent("caches/tiny_f32.safetensors").path
        let on = try SaescopeBinary.run(["eval", "--sae", trainer.path, "--acts", cache, "--json"])
        XCTAssertEqual(on.status, 0, on.stderr)
        XCTAssertTrue(on.stderr.contains("buffer.remove_bos in config.json"), on.stderr)
        let rows = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(on.stdout.utf8)) as? [String: Any])?["rows"] as? [String: Any])
        XCTAssertEqual(rows["excluded_special"] as? Int, 5)  // one BOS per sequence
        XCTAssertEqual(rows["evaluated"] as? Int, 59)

        // Asked for on a cache without token ids: one line naming the file, exit 2.
        let npy = fixtures.appendingPathComponent("caches/tiny_acts.npy").path
        let bad = try SaescopeBinary.run(["eval", "--sae", trainer.path, "--acts", npy, "--exclude-special"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("tiny_acts.npy") && bad.stderr.contains("token ids"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        // From the config only, the same cache gives a warning and keeps every row.
        let warned = try SaescopeBinary.run(["eval", "--sae", trainer.path, "--acts", npy, "--json"])
        XCTAssertEqual(warned.status, 0, warned.stderr)
        XCTAssertTrue(warned.stderr.contains("warning") && warned.stderr.contains("stay in"), warned.stderr)
        let both = try SaescopeBinary.run(["eval", "--sae", trainer.path, "--acts", cache, "--exclude-special", "--no-exclude-special"])
        XCTAssertEqual(both.status, 64)
    }
}
