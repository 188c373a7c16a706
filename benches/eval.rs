//! Analogy evaluation speed: the full Google analogy set (19,544 questions) answered over
//! 30,000 words of dimension 100, every question seen (the question words are the most
//! frequent words of a synthetic vocabulary), with 3CosAdd and 3CosMul.
//!
//! Reads the bundled `data/eval/questions-words.txt`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use huffvec::support::word2vec::Vectors;
use huffvec::{Embeddings, Method, OutputFormat, QuestionSet};

const WORDS: usize = 30_000;
const DIM: usize = 100;

fn questions() -> QuestionSet {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/eval/questions-words.txt");
    QuestionSet::load(&p).expect("the bundled Google analogy set")
}

/// 30,000 words: every question word first (so every question is seen), then fillers;
/// pseudo-random vectors.
fn embeddings(set: &QuestionSet) -> Embeddings {
    let mut words: Vec<Box<[u8]>> = Vec::with_capacity(WORDS);
    let mut seen = std::collections::HashSet::new();
    for q in &set.questions {
        for w in &q.words {
            if seen.insert(w.to_lowercase()) {
                words.push(w.to_lowercase().into_bytes().into());
            }
        }
    }
    let mut i = 0;
    while words.len() < WORDS {
        words.push(format!("filler{i}").into_bytes().into());
        i += 1;
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let data = (0..WORDS * DIM)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    Embeddings::from_vectors(Vectors {
        words,
        dim: DIM,
        data,
        format: OutputFormat::Text,
    })
}

fn bench_analogy(c: &mut Criterion) {
    let set = questions();
    let emb = embeddings(&set);
    let mut g = c.benchmark_group("analogy_google_30k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(set.questions.len() as u64));
    for (name, method) in [("3cosadd", Method::Add), ("3cosmul", Method::Mul)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let r = huffvec::support::evaluate_analogies_by(&emb, &set, WORDS, method, None);
                assert_eq!(r.total().seen, set.questions.len());
                r
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_analogy);
criterion_main!(benches);
