#!/usr/bin/env bash
# Side-by-side comparison of huffvec with word2vec.c, fastText and gensim: same settings
# (HS, dim 100, window 5, min-count 5, sample 1e-3, 5 epochs), runs alternated tool by
# tool so machine noise hits every tool alike, then median throughput, ratio to word2vec.c,
# peak memory and quality in one table.
#
#   benches/peers.sh                                   # install peers, run everything once
#   SKIP_INSTALL=1 REPEAT=3 THREADS="1 2" benches/peers.sh
#   TOOLS="huffvec w2vc" MODELS="sg cbow" benches/peers.sh   # a subset
#   TIER=large DIM=300 EPOCHS=1 THREADS=1 benches/peers.sh   # the large tier at dim 300
#
# Tiers: TIER=bench (default) is the 6.3M-word benchmark corpus. TIER=large is a Zipf
# corpus from ../shared/tools/make_zipf_corpus.py (ZIPF_TOKENS=20e6 tokens over
# ZIPF_VOCAB=1e6 word types by default: about 693k words at min-count 5, a tree 22 deep),
# made once under $OUT; its vectors are not evaluated (quality means nothing there).
#
# Tools: huffvec, w2vc (word2vec.c via PyPI `word2vec`), fasttext (Debian), gensim (PyPI,
# corpus_file mode, skip-gram only). Needs ../shared (data and the peer helper scripts).
# Throughput = raw corpus tokens x epochs / training seconds, where training seconds run
# from the tool's "vocabulary ready" line to its exit (so they include writing vectors).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SHARED="${SHARED:-$ROOT/../shared}"
PEERS="$SHARED/peers"
DATA="$SHARED/data"
OUT="${OUT:-/tmp/huffvec-peers}"
TIER="${TIER:-bench}"
DIM="${DIM:-100}"
EPOCHS="${EPOCHS:-5}"
THREADS="${THREADS:-1 2}"
REPEAT="${REPEAT:-1}"
TOOLS="${TOOLS:-huffvec w2vc fasttext gensim}"
MODELS="${MODELS:-sg cbow}"
[ -d "$PEERS" ] || { echo "peers.sh: $PEERS not found (needs ../shared beside the checkout)" >&2; exit 2; }

if [ -z "${SKIP_INSTALL:-}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq fasttext time >/dev/null
  pip install -q numpy scipy gensim==4.4.0 word2vec==0.11.1
fi

mkdir -p "$OUT"
case "$TIER" in
  bench)
    CORPUS="$OUT/bench.txt"
    [ -s "$CORPUS" ] || cat "$DATA/corpora/wiki.txt" "$DATA/corpora/brown.txt" "$DATA/corpora/gcide.txt" > "$CORPUS" ;;
  large)
    ZIPF_TOKENS="${ZIPF_TOKENS:-20e6}" ZIPF_VOCAB="${ZIPF_VOCAB:-1e6}"
    CORPUS="$OUT/zipf-$ZIPF_TOKENS-$ZIPF_VOCAB.txt"
    [ -s "$CORPUS" ] || python3 "$SHARED/tools/make_zipf_corpus.py" "$CORPUS" \
      --tokens "$ZIPF_TOKENS" --vocab "$ZIPF_VOCAB" ;;
  *) echo "peers.sh: TIER must be bench or large, not '$TIER'" >&2; exit 2 ;;
esac
RUNS="$OUT/runs-$TIER-d$DIM"
mkdir -p "$RUNS"
WORDS=$(wc -w < "$CORPUS")
(cd "$ROOT" && cargo build --release -q)
HV="$ROOT/target/release/huffvec"
export HUFFVEC_CACHE="$OUT/cache"
# Encode once outside the timed runs (huffvec reuses its id cache like a prepared corpus;
# its timing starts after the vocabulary in any case).
"$HV" train -i "$CORPUS" -o "$OUT/warm.txt" --epochs 1 -q --threads 1 --dim 10 >/dev/null

TIMED="python3 $PEERS/timed_run.py"
run_one() {  # TOOL MODEL THREADS REP
  local tool=$1 model=$2 t=$3 rep=$4 id="$1_$2_t$3_r$4" alpha=0.025 cbow=0 ftmode=skipgram
  [ "$model" = cbow ] && alpha=0.05 cbow=1 ftmode=cbow
  local base=(--json "$RUNS/$id.json" --log "$RUNS/$id.log")
  echo "=== $id ($(date -u +%H:%M:%S))"
  case "$tool" in
    huffvec)
      local m=skipgram; [ "$model" = cbow ] && m=cbow
      $TIMED "${base[@]}" --marker "^vocabulary:" -- "$HV" train -i "$CORPUS" -o "$RUNS/$id.vec" \
        --model "$m" --threads "$t" --epochs "$EPOCHS" --dim "$DIM" --window 5 --min-count 5 --sample 1e-3 ;;
    w2vc)
      $TIMED "${base[@]}" --marker "Words in train file" -- stdbuf -oL word2vec -train "$CORPUS" \
        -output "$RUNS/$id.vec" -size "$DIM" -window 5 -sample 1e-3 -hs 1 -negative 0 -threads "$t" \
        -iter "$EPOCHS" -min-count 5 -alpha "$alpha" -cbow "$cbow" -binary 0 -debug 2 ;;
    fasttext)
      $TIMED "${base[@]}" --marker "Number of labels" -- fasttext "$ftmode" -input "$CORPUS" \
        -output "$RUNS/$id" -dim "$DIM" -ws 5 -minCount 5 -t 1e-3 -lr "$alpha" -epoch "$EPOCHS" \
        -loss hs -thread "$t" -minn 0 -maxn 0 -bucket 0
      rm -f "$RUNS/$id.bin" ;;
    gensim)
      [ "$model" = sg ] || return 0
      $TIMED "${base[@]}" --marker "TRAIN START" -- python3 "$PEERS/gensim_train.py" "$CORPUS" \
        "$RUNS/$id.vec" --workers "$t" --mode corpus_file --sg 1 --hs 1 --negative 0 \
        --epochs "$EPOCHS" --dim "$DIM" --json "$RUNS/$id.gensim.json" ;;
  esac
  if [ "$TIER" = bench ]; then
    python3 "$PEERS/eval_vectors.py" "$RUNS/$id.vec" --eval-dir "$DATA/eval" \
      --json "$RUNS/$id.eval.json" > /dev/null
  fi
  rm -f "$RUNS/$id.vec"
}

for model in $MODELS; do
  for t in $THREADS; do
    for rep in $(seq 1 "$REPEAT"); do
      for tool in $TOOLS; do
        run_one "$tool" "$model" "$t" "$rep"
      done
    done
  done
done
echo "tier $TIER, dim $DIM, $WORDS words, $EPOCHS epochs"
python3 "$ROOT/benches/peers_table.py" "$RUNS" --corpus-words "$WORDS" --epochs "$EPOCHS"
