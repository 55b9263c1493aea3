#!/usr/bin/env bash
# Makes the system Python (/usr/bin/python3) import condense from FOLDER (a build's python/
# folder): writes condense-build.pth into its site-packages. Needs root (or sudo) there; without
# either it says how to use PYTHONPATH instead and succeeds.
set -euo pipefail
folder="$1"
python=/usr/bin/python3
site=$("$python" -c 'import site; print(site.getsitepackages()[0])')
pth="$site/condense-build.pth"
if [ -f "$pth" ] && [ "$(cat "$pth")" = "$folder" ]; then
  exit 0
fi
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); else
    echo "condense: to import condense in Python, set PYTHONPATH=$folder (no root to write $pth)"
    exit 0
  fi
fi
"${sudo_cmd[@]}" mkdir -p "$site"
printf '%s\n' "$folder" | "${sudo_cmd[@]}" tee "$pth.tmp" > /dev/null
"${sudo_cmd[@]}" mv "$pth.tmp" "$pth"
echo "condense: $python imports condense from $folder ($pth)"
