"""Train, query, evaluate and inspect word vectors from Python on the bundled corpus.

    pip install ./python gensim   # from the root of the source tree
    python examples/python_quickstart.py
"""

import atexit
import shutil
import tempfile
from pathlib import Path

import huffvec

out = Path(tempfile.mkdtemp(prefix="huffvec-quickstart-"))
atexit.register(shutil.rmtree, out, ignore_errors=True)

# 1. Train skip-gram with hierarchical softmax (word2vec.c's defaults) on the bundled
#    sample corpus, recording gradient telemetry on the way. One thread and a seed make
#    the run repeatable bit for bit.
model = huffvec.train(threads=1, seed=7, stats=out / "stats.jsonl", progress=False)
print(model)
print("most frequent:", list(zip(model.words[:5], model.counts[:5])))
print("vectors:", model.vectors.dtype, model.vectors.shape)
report = model.report
threads = report["threads"]
print(f"trained {report['words']:,} words in {report['train_seconds']:.2f}s "
      f"({report['words_per_sec']:,.0f} words/s on {threads} thread{'s' * (threads != 1)})")

# 2. Neighbours and an analogy.
for word, cos in model.most_similar("france", topn=5):
    print(f"  france ~ {word:<12} {cos:.3f}")
print("man : king :: woman :", [w for w, _ in model.analogy("man", "king", "woman", topn=3)])

# 3. The bundled analogy and similarity sets, as `huffvec eval --json` scores them.
scores = huffvec.evaluate(model)
a = scores["analogy"]["questions-words"]
print(f"analogies: {a['total_acc']:.2f}% of {a['seen']} seen questions "
      f"({a['semantic_acc']:.2f}% semantic, {a['syntactic_acc']:.2f}% syntactic)")
for name, s in sorted(scores["similarity"].items()):
    print(f"similarity {name}: rho {s['rho']:.3f} on {s['pairs']}/{s['total']} pairs")

# 4. Save, read back, and hand to gensim.
model.save(out / "vectors.bin", format="binary")
loaded = huffvec.load(out / "vectors.bin")
print("read back:", loaded, "identical:", bool((loaded.vectors == model.vectors).all()))
kv = model.to_gensim()
print("gensim:", type(kv).__name__, kv.most_similar("france", topn=3))

# 5. The telemetry records: how often each tree depth's nodes were updated, and how long
#    their vectors grew, at the end of the run (docs/telemetry.md lists every field).
records = list(huffvec.read_stats(out / "stats.jsonl"))
header = records[0]
print(f"stats: {len(records)} records, schema {header['schema']} v{header['version']}, "
      f"max depth {header['max_depth']}")
print("depth  nodes  updates/node  mean |v|")
for r in records:
    if r["record"] == "depth_final" and r["depth"] % 4 == 0:
        print(f"{r['depth']:>5}  {r['inner_nodes']:>5}  {r['updates_per_node']:>12,.0f}"
              f"  {r['v_norm_mean']:>8.3f}")
