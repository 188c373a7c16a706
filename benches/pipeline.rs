//! Corpus pipeline: counting, encoding, and the Huffman build of a 1M-word vocabulary.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use huffvec::support::{default_threads, huffman, Corpus, IdCorpus, VocabSettings};

/// `$HUFFVEC_BENCH_CORPUS`, else the bundled sample corpus.
fn corpus_path() -> std::path::PathBuf {
    match std::env::var_os("HUFFVEC_BENCH_CORPUS") {
        Some(p) => p.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/wiki-sample.txt"),
    }
}

fn pipeline(c: &mut Criterion) {
    let path = corpus_path();
    let corpus = Corpus::open(&path).expect("corpus");
    let bytes = corpus.bytes().len() as u64;
    let mut threads = vec![1, 2, default_threads()];
    threads.dedup();
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = VocabSettings {
        min_count: 5,
        max_vocab: None,
    };
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    for &t in &threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .expect("pool");
        g.bench_function(format!("count_and_encode/{t}_threads"), |b| {
            b.iter(|| {
                let cache = dir.path().join(format!("c{}", rand_suffix()));
                let (ids, _) = pool
                    .install(|| IdCorpus::prepare(&corpus, settings, &cache, t, &|_, _| {}))
                    .expect("encode");
                let n = ids.ids().len();
                drop(ids);
                let _ = std::fs::remove_dir_all(&cache);
                n
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("tree");
    g.sample_size(10);
    // Zipf-like counts over a million words, already sorted descending.
    let counts: Vec<u64> = (1..=1_000_000u64).map(|r| 50_000_000 / r + 1).collect();
    g.throughput(Throughput::Elements(counts.len() as u64));
    g.bench_function("huffman_1m_words", |b| {
        b.iter(|| huffman::build(&counts).n_inner())
    });
    g.finish();
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
