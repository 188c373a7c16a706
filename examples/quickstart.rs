//! Train skip-gram vectors on the bundled sample corpus through the library, then show
//! nearest neighbours and score the vectors on the bundled evaluation sets.
//!
//! `cargo run --release --example quickstart`

use std::path::Path;

use huffvec::{Hyperparams, Model, PairSet, QuestionSet, Trainer};

fn main() -> huffvec::Result<()> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let mut params = Hyperparams::new(Model::Skipgram);
    params.epochs = 3;
    let model = Trainer::new(data.join("wiki-sample.txt"), params).train()?;
    let r = model.report();
    println!(
        "trained {} words ({} in the vocabulary, dim {}) at {:.0} words/s on {} threads",
        r.words,
        model.len(),
        model.dim(),
        r.words_per_sec,
        r.threads
    );

    let emb = model.embeddings();
    for word in ["king", "city", "music"] {
        match emb.most_similar(word, 5) {
            Ok(near) => {
                let list: Vec<String> = near.iter().map(|(w, c)| format!("{w} {c:.2}")).collect();
                println!("{word}: {}", list.join(", "));
            }
            Err(e) => println!("{word}: {e}"),
        }
    }

    let eval = data.join("eval");
    let analogies = QuestionSet::load(&eval.join("questions-words.txt"))?;
    let a = emb.evaluate_analogies(&analogies, 30_000).total();
    println!(
        "analogy: {:.1}% of {} questions answered ({:.1}% covered)",
        a.accuracy_pct(),
        a.seen,
        a.coverage_pct()
    );
    for set in ["EN-WS-353-ALL", "EN-SIMLEX-999", "EN-MEN-TR-3k"] {
        let pairs = PairSet::load(&eval.join(format!("{set}.txt")))?;
        let s = emb.evaluate_similarity(&pairs);
        println!(
            "{set}: Spearman {:.3} over {} of {} pairs",
            s.overall.rho, s.overall.pairs, s.total
        );
    }
    Ok(())
}
