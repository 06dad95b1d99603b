#!/usr/bin/env bash
# Media pipeline benchmark: one 4000×3000 photo to six variants (300, 800
# and 1600 px, each WebP and progressive JPEG, quality 82, metadata
# stripped), our pipeline against ImageMagick, whole-process wall time,
# interleaved rounds, medians; output sizes and PSNR of the large variants
# against a lossless reference. Optimised build.
#   bench/media.sh [rounds=5]
#
# ImageMagick runs once per round as ONE convert invocation that decodes
# once and cascades the resizes (1600 → 800 → 300) with -write, like our
# pipeline, in two flavours:
#   IM+hint  -define jpeg:size=… lets libjpeg decode at a reduced DCT scale
#            (the same trick our pipeline uses): the fair, efficient use;
#   IM plain the same chain without the hint (what most setups run).
# The ratio is reported against both; IM+hint is the one to beat.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-5}"
work="${MEDIA_BENCH_DIR:-target/media-bench}"

# ImageMagick by its full Debian path: another `convert` may come first on
# PATH and not be ImageMagick. Debian 12 installs ImageMagick 6 as
# /usr/bin/convert-im6.q16; ImageMagick 7 would be /usr/bin/magick.
if [[ ! -x /usr/bin/convert-im6.q16 && ! -x /usr/bin/magick ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq imagemagick >/dev/null
fi
if [[ -x /usr/bin/convert-im6.q16 ]]; then
  im=(/usr/bin/convert-im6.q16)
  compare=(/usr/bin/compare-im6.q16)
  identify=(/usr/bin/identify-im6.q16)
else
  im=(/usr/bin/magick)
  compare=(/usr/bin/magick compare)
  identify=(/usr/bin/magick identify)
fi
echo "ImageMagick: $("${im[@]}" -version | head -1)"
echo "ImageMagick threads: $("${im[@]}" -list resource | awk '/Thread/ {print $2}'), cores: $(nproc)"

mkdir -p "$work"
work="$(cd "$work" && pwd)" # absolute: cargo runs benches from the package directory
photo="$work/photo.jpg"
if [[ ! -s "$photo" ]]; then
  echo "making $photo"
  "${im[@]}" -seed 7 -size 4000x3000 plasma:fractal -blur 0x2 +noise Gaussian -quality 90 "$photo"
fi
read -r src_w src_h < <("${identify[@]}" -format '%w %h\n' "$photo")
echo "source: $photo, ${src_w}x${src_h}, $(stat -c %s "$photo") bytes"

# The large variant's size: libjpeg's scale is chosen from the smaller of
# the two ratios, so the hint must be the fitted size, not 1600x1600.
if (( src_w >= src_h )); then
  hint="1600x$(( (src_h * 1600 + src_w / 2) / src_w ))"
else
  hint="$(( (src_w * 1600 + src_h / 2) / src_h ))x1600"
fi

# Build the bench binary (optimised) and find it.
# (The JSON also lists the service's own binary: keep the bench's.)
bin="$(cargo bench --locked -p media --bench pipeline --no-run --message-format=json-render-diagnostics |
  grep '"kind":\["bench"\]' | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)"
[[ "$(basename "$bin")" == pipeline-* ]] || { echo "bench binary not found: '$bin'" >&2; exit 1; }
# One run through cargo, as documented, which also warms the caches.
cargo bench --locked -p media --bench pipeline -- "$photo" "$work/ours"

run=() # a prefix for the ImageMagick command, e.g. /usr/bin/time
im_chain() { # $1 = output dir, rest = options before the input
  local out="$1"; shift
  mkdir -p "$out"
  "${run[@]}" "${im[@]}" "$@" "$photo" -strip -filter Lanczos -quality 82 -sampling-factor 2x2 \
    -resize '1600x1600>' -interlace Plane -write "$out/large.jpg" -interlace None -write "$out/large.webp" \
    -resize '800x800>' -interlace Plane -write "$out/medium.jpg" -interlace None -write "$out/medium.webp" \
    -resize '300x300>' -interlace Plane -write "$out/thumb.jpg" -interlace None "$out/thumb.webp"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

ours_ms=() hint_ms=() plain_ms=() peak_kb=()
for (( r = 1; r <= rounds; r++ )); do
  t0=$(now_ms); im_chain "$work/im-hint" -define "jpeg:size=$hint"; t1=$(now_ms)
  hint_ms+=( $(( t1 - t0 )) )
  t0=$(now_ms); line="$("$bin" "$photo" "$work/ours")"; t1=$(now_ms)
  line="${line%%$'\n'*}"
  ours_ms+=( $(( t1 - t0 )) )
  peak_kb+=( "$(sed -n 's/.*peak RSS \([0-9]*\) kB.*/\1/p' <<<"$line")" )
  t0=$(now_ms); im_chain "$work/im-plain"; t1=$(now_ms)
  plain_ms+=( $(( t1 - t0 )) )
  echo "round $r: ours ${ours_ms[-1]} ms (${line#*; }), IM+hint ${hint_ms[-1]} ms, IM plain ${plain_ms[-1]} ms"
done

m_ours=$(printf '%s\n' "${ours_ms[@]}" | median)
m_hint=$(printf '%s\n' "${hint_ms[@]}" | median)
m_plain=$(printf '%s\n' "${plain_ms[@]}" | median)
m_peak=$(printf '%s\n' "${peak_kb[@]}" | sort -n | tail -1)
echo
echo "== wall time, median of $rounds (whole process: start, read, decode, six variants, write)"
printf '  %-42s %6s ms\n' "ours (media::domain::pipeline::process)" "$m_ours" \
  "ImageMagick + jpeg:size=$hint" "$m_hint" "ImageMagick plain" "$m_plain"
awk -v o="$m_ours" -v h="$m_hint" -v p="$m_plain" \
  'BEGIN { printf "  ratio: %.1fx faster than IM+hint, %.1fx faster than IM plain (target >= 4x)\n", h / o, p / o }'
echo "  peak RSS of ours (VmHWM): $(( m_peak / 1024 )) MiB"
if [[ -x /usr/bin/time ]]; then # one more ImageMagick run each, for its peak RSS
  run=(/usr/bin/time -o "$work/im.rss" -f %M)
  im_chain "$work/im-hint" -define "jpeg:size=$hint"
  echo "  peak RSS of ImageMagick + hint: $(( $(cat "$work/im.rss") / 1024 )) MiB"
  im_chain "$work/im-plain"
  echo "  peak RSS of ImageMagick plain: $(( $(cat "$work/im.rss") / 1024 )) MiB"
  run=()
fi

# Lossless reference: ImageMagick's Lanczos resize of the fully decoded
# original to 1600 px, as PNG.
ref="$work/reference-large.png"
[[ -s "$ref" ]] || "${im[@]}" "$photo" -filter Lanczos -resize '1600x1600>' "$ref"
psnr() { "${compare[@]}" -metric PSNR "$1" "$ref" null: 2>&1 >/dev/null || true; }

echo
echo "== output bytes per variant"
printf '  %-12s %10s %10s %10s\n' variant ours IM+hint "IM plain"
for v in thumb.webp thumb.jpg medium.webp medium.jpg large.webp large.jpg; do
  printf '  %-12s %10s %10s %10s\n' "$v" "$(stat -c %s "$work/ours/$v")" \
    "$(stat -c %s "$work/im-hint/$v")" "$(stat -c %s "$work/im-plain/$v")"
done

echo
echo "== quality per byte, large variants vs the lossless reference (PSNR, dB; bits per pixel)"
pixels=$("${identify[@]}" -format '%[fx:w*h]' "$ref")
for v in large.webp large.jpg; do
  for who in ours im-hint im-plain; do
    f="$work/$who/$v"
    bytes=$(stat -c %s "$f")
    printf '  %-11s %-9s %8s dB  %6s bytes  %s bpp\n' "$v" "$who" "$(psnr "$f")" "$bytes" \
      "$(awk -v b="$bytes" -v p="$pixels" 'BEGIN { printf "%.3f", 8 * b / p }')"
  done
done
