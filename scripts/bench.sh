#!/usr/bin/env bash
# Reproduce every ratio in BENCHMARKS.md in one run:
#  1. `cargo winpkg check` in each format against one `llvm-readobj --coff-imports` call,
#     over the same folder of PE files (default: Wine's 694 x86_64 PE files);
#  2. check scaling from that folder to about 10,000 files (hard links of it);
#  3. packaging a ~100 MB exe against Info-ZIP `zip -6` on the same file: time, zip
#     size, and peak memory;
#  4. the same package with `--msi`: what the MSI adds, and peak memory; and against
#     wixl (msitools) building an MSI of the same exe alone.
# Needs hyperfine, zip, llvm-readobj, wixl and GNU time (installed with apt when missing
# and root). Usage: scripts/bench.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v zip >/dev/null || need+=(zip)
command -v llvm-readobj >/dev/null || need+=(llvm)
command -v wixl >/dev/null || need+=(wixl)
[ -x /usr/bin/time ] || need+=(time)
if ((${#need[@]})); then
    [ "$(id -u)" = 0 ] || { echo "bench: install ${need[*]}" >&2; exit 1; }
    apt-get install -y -qq "${need[@]}" >/dev/null
fi
corpus=${1:-/usr/lib/x86_64-linux-gnu/wine/x86_64-windows}
[ -d "$corpus" ] || { echo "bench: no corpus at $corpus (apt-get install wine64, or pass a folder of PE files)" >&2; exit 1; }
cargo build --release --quiet
bin=$PWD/target/release/cargo-winpkg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$corpus" -maxdepth 1 -type f | sort > "$work/files"
n=$(wc -l < "$work/files")

mean() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][0]['mean'])" "$1"; }
time_it() { # name command... (run without a shell)
    local name=$1; shift
    hyperfine -N -w 3 -r 20 --export-json "$work/$name.json" "$*" >/dev/null
    mean "$work/$name.json"
}
time_sh() { # name "shell command" (slow commands: a few runs)
    hyperfine -w 1 -r 5 --export-json "$work/$1.json" "$2" >/dev/null
    mean "$work/$1.json"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "corpus: $corpus ($n files)"
echo
missed=()
goal() { # what value limit: records a missed goal (value above limit)
    python3 -c "import sys; sys.exit(0 if $2 <= $3 else 1)" || missed+=("$1: $2 > $3")
}
median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]['median'])" "$1" "$2"; }
# Each format is timed in one hyperfine run beside llvm-readobj (runs alternate), and
# the ratio is of the medians: the machine is shared, and its load drifts between runs
# by more than the gap to a goal.
printf '| %-34s | %9s | %9s | %6s |\n' "command (median of 40 runs)" "seconds" "readobj" "ratio"
printf '|%s|%s|%s|%s|\n' "------------------------------------" "-----------" "-----------" "--------"
for f in human json github sarif; do
    hyperfine -N -w 3 -r 40 --export-json "$work/check-$f.json" \
        "llvm-readobj --coff-imports @$work/files" "$bin check --format $f $corpus" >/dev/null
    ref=$(median "$work/check-$f.json" 0)
    t=$(median "$work/check-$f.json" 1)
    r=$(python3 -c "print(round($t/$ref, 3))")
    printf '| %-34s | %9.4f | %9.4f | %6.2f |\n' "cargo winpkg check --format $f" "$t" "$ref" "$r"
    goal "check --format $f against llvm-readobj" "$r" 0.5
done

# Scaling: the 100 smallest files of the corpus, then 100 copies of them (10,000
# distinct files; copies, since hard links are one file and checked once).
small_dir=$work/small
big=$work/big
mkdir -p "$small_dir"
xargs -d '\n' ls -S < "$work/files" | tail -n 100 | while read -r f; do cp "$f" "$small_dir/"; done
for i in $(seq 1 100); do mkdir -p "$big/$i"; cp "$small_dir"/* "$big/$i/"; done
m=$(find "$big" -type f | wc -l)
t100=$(time_it scale-small "$bin" check --format json "$small_dir")
t=$(time_it scale "$bin" check --format json "$big")
echo
echo "scaling: 100 files $(printf %.4f "$t100") s, $m files $(printf %.4f "$t") s; time per file at $m is $(python3 -c "print(round(($t/$m)/($t100/100), 2))")x that at 100"

# Packaging a ~100 MB exe: a real Rust exe with 100 MB of real PE bytes as its overlay.
crate=$work/crate
mkdir -p "$crate/src" "$crate/target/x86_64-pc-windows-gnu/release"
printf '[package]\nname = "big"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n\n[package.metadata.winpkg]\ntarget = "x86_64-pc-windows-gnu"\n' > "$crate/Cargo.toml"
echo 'fn main() {}' > "$crate/src/main.rs"
exe=$crate/target/x86_64-pc-windows-gnu/release/big.exe
cp fixtures/pe/rust-hello-x64.exe "$exe"
while read -r f; do cat "$f" >> "$exe"; [ "$(stat -c %s "$exe")" -gt 104857600 ] && break; done < <(sort -r "$work/files")
size=$(stat -c %s "$exe")
pack="$bin winpkg --release --no-build -q --manifest-path $crate/Cargo.toml --output $work/out"
ours=$(time_sh pack "$pack")
rss=$( { /usr/bin/time -f %M $pack >/dev/null; } 2>&1 | tail -1 )
zipt=$(time_sh zip6 "rm -f $work/z.zip; zip -6 -q -j $work/z.zip $exe")
ourzip=$(stat -c %s "$work/out/big-0.1.0-x86_64-pc-windows-gnu.zip")
theirs=$(stat -c %s "$work/z.zip")
zrss=$( { /usr/bin/time -f %M zip -6 -q -j "$work/z2.zip" "$exe" >/dev/null; } 2>&1 | tail -1 )
echo
echo "packaging a $((size / 1048576)) MiB exe:"
printf '| %-28s | %9s | %10s | %12s |\n' "command" "seconds" "zip MiB" "peak RSS MiB"
printf '|%s|%s|%s|%s|\n' "------------------------------" "-----------" "------------" "--------------"
printf '| %-28s | %9.2f | %10.2f | %12d |\n' "zip -6" "$zipt" "$(python3 -c "print($theirs/1048576)")" "$((zrss / 1024))"
printf '| %-28s | %9.2f | %10.2f | %12d |\n' "cargo winpkg --no-build" "$ours" "$(python3 -c "print($ourzip/1048576)")" "$((rss / 1024))"
echo "time ratio $(python3 -c "print(round($ours/$zipt, 2))")x, size ratio $(python3 -c "print(round($ourzip/$theirs, 4))")x"
goal "packaging time against zip -6" "$(python3 -c "print(round($ours/$zipt, 3))")" 0.4
goal "zip size against zip -6" "$(python3 -c "print(round($ourzip/$theirs, 4))")" 1.02
goal "packaging peak RSS MiB" "$((rss / 1024))" 64

# The same package with an MSI beside the zip: what writing the MSI adds, against the
# whole zip run.
printf '\n[package.metadata.winpkg.msi]\nupgrade-code = "{6F1C2A3B-1111-4222-8333-944455556666}"\n' >> "$crate/Cargo.toml"
withmsi=$(time_sh msi "$pack --msi")
mrss=$( { /usr/bin/time -f %M $pack --msi >/dev/null; } 2>&1 | tail -1 )
msisize=$(stat -c %s "$work/out/big-0.1.0-x86_64-pc-windows-gnu.msi")
added=$(python3 -c "print(round(($withmsi - $ours) / $ours, 3))")
echo
echo "the MSI of the same exe:"
printf '| %-28s | %9s | %10s | %12s |\n' "command" "seconds" "MSI MiB" "peak RSS MiB"
printf '|%s|%s|%s|%s|\n' "------------------------------" "-----------" "------------" "--------------"
printf '| %-28s | %9.2f | %10.2f | %12d |\n' "cargo winpkg --no-build --msi" "$withmsi" "$(python3 -c "print($msisize/1048576)")" "$((mrss / 1024))"
# wixl building an MSI of the same exe alone (one file, one component, MSZIP cabinet),
# timed in one hyperfine run beside ours (runs alternate). wixl takes a source path
# relative to the folder it runs in.
exedir=$(dirname "$exe")
cat > "$exedir/big.wxs" <<WXS
<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="*" Name="big" Language="1033" Version="0.1.0" Manufacturer="bench" UpgradeCode="{6F1C2A3B-1111-4222-8333-944455556666}">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine"/>
    <Media Id="1" Cabinet="app.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir"><Directory Id="ProgramFiles64Folder"><Directory Id="INSTALLDIR" Name="big">
      <Component Id="Exe" Guid="{AAAAAAAA-1111-2222-3333-444444444444}" Win64="yes"><File Id="big.exe" Name="big.exe" Source="big.exe" KeyPath="yes"/></Component>
    </Directory></Directory></Directory>
    <Feature Id="Complete" Level="1"><ComponentRef Id="Exe"/></Feature>
  </Product>
</Wix>
WXS
hyperfine -w 1 -r 5 --export-json "$work/wixl.json" "$pack --msi" "cd $exedir && wixl -a x64 -o $work/w.msi big.wxs" >/dev/null
wixlt=$(median "$work/wixl.json" 1)
vs_wixl=$(python3 -c "print(round($(median "$work/wixl.json" 0) / $wixlt, 3))")
wrss=$( { cd "$exedir" && /usr/bin/time -f %M wixl -a x64 -o "$work/w2.msi" big.wxs >/dev/null; } 2>&1 | tail -1 )
printf '| %-28s | %9.2f | %10.2f | %12d |\n' "wixl (the MSI alone)" "$wixlt" "$(python3 -c "print($(stat -c %s "$work/w.msi")/1048576)")" "$((wrss / 1024))"
echo "the MSI adds ${added}x the zip run's time; check, stamp, zip and MSI take ${vs_wixl}x wixl's MSI alone"
goal "MSI time against the zip's" "$added" 1.5
goal "MSI peak RSS MiB" "$((mrss / 1024))" 64
goal "zip and MSI against wixl's MSI" "$vs_wixl" 0.5
echo
if ((${#missed[@]})); then
    printf 'goal missed: %s\n' "${missed[@]}"
    exit 1
fi
echo "every goal met"
