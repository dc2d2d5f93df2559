#!/bin/sh
# Installs what browser-fleet needs on Debian bookworm (or an image based on it), as root. Every
# step of deploy/Dockerfile's image is here, so that test/e2e/install-script.test.ts can run the
# same steps on a machine (the image itself is not built by the tests).
#
#   deploy/install.sh [--app-dir DIR] [--output-dir DIR] [--uid N] [--with-video]
#
#   --app-dir DIR     the project copy to install into (package.json, package-lock.json, bin/, src/,
#                     workers/); default $BF_APP_DIR, else /opt/browser-fleet
#   --output-dir DIR  root of the session directories (the server's --output-dir); default
#                     $BF_OUTPUT_DIR, else /var/lib/browser-fleet/sessions (as in scripts/browser-fleet.service)
#   --uid N           uid (and gid) for the browser-fleet user when it is created; default $BF_UID,
#                     else the next free system uid. The image fixes one, so that USER and
#                     Kubernetes' runAsUser can name it.
#   --with-video      also install ffmpeg, which video recording needs (--record video|both, or
#                     --caps devtools for browser_start_video); default: without
#
# Steps: check that Node >= 20 is on PATH (Debian bookworm's nodejs is 18, so Node comes with the
# base image or is installed beforehand); install chromium-headless-shell, tini and ca-certificates
# with apt when missing; create the system user browser-fleet (no login shell, home
# /var/lib/browser-fleet) when absent; `npm ci --omit=dev` in the app directory; make the
# directory where the server writes its worker bundle (node_modules/.cache/browser-fleet) the
# user's; create the output directory, the user's, mode 0700.
#
# Safe to run again: it checks everything it can before it changes anything, installs only what
# is missing, and leaves apt's lists and npm's cache as it found them (absent in a fresh image,
# so the image gets neither; kept on a machine that had them). The user it creates is not removed
# by anything, the tests included.
set -eu

APP_DIR=${BF_APP_DIR:-/opt/browser-fleet}
OUTPUT_DIR=${BF_OUTPUT_DIR:-/var/lib/browser-fleet/sessions}
NEW_UID=${BF_UID:-}
USER_NAME=browser-fleet
USER_HOME=/var/lib/browser-fleet
PACKAGES="chromium-headless-shell tini ca-certificates"
CHROMIUM=/usr/lib/chromium/chromium-headless-shell

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --app-dir) [ $# -ge 2 ] || die "--app-dir needs a directory"; APP_DIR=$2; shift 2 ;;
    --output-dir) [ $# -ge 2 ] || die "--output-dir needs a directory"; OUTPUT_DIR=$2; shift 2 ;;
    --uid) [ $# -ge 2 ] || die "--uid needs a number"; NEW_UID=$2; shift 2 ;;
    --with-video) PACKAGES="$PACKAGES ffmpeg"; shift ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# --- Checks: nothing below this block runs unless all of them pass. ---

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and creates a system user"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script is for Debian bookworm and images based on it"

command -v node >/dev/null 2>&1 || die "no 'node' on PATH: browser-fleet needs Node.js 20 or later, and Debian bookworm's nodejs package is 18. Use a base image that has it (deploy/Dockerfile uses node:20-bookworm-slim) or install Node 20 first"
NODE_VERSION=$(node --version)
NODE_MAJOR=${NODE_VERSION#v}
NODE_MAJOR=${NODE_MAJOR%%.*}
case $NODE_MAJOR in
  ''|*[!0-9]*) die "could not read the version of $(command -v node): '$NODE_VERSION'" ;;
esac
[ "$NODE_MAJOR" -ge 20 ] || die "$(command -v node) is $NODE_VERSION: browser-fleet needs Node.js 20 or later (Debian bookworm's nodejs package is 18). Use a base image that has it (deploy/Dockerfile uses node:20-bookworm-slim) or install Node 20 first"
command -v npm >/dev/null 2>&1 || die "no 'npm' on PATH next to node $NODE_VERSION"

for file in package.json package-lock.json bin/browser-fleet.js; do
  [ -f "$APP_DIR/$file" ] || die "$APP_DIR/$file is missing: give --app-dir the browser-fleet copy to install into"
done
case $OUTPUT_DIR in /*) ;; *) die "--output-dir must be an absolute path, got '$OUTPUT_DIR'" ;; esac
[ ! -L "$OUTPUT_DIR" ] || die "--output-dir $OUTPUT_DIR is a symlink: the server refuses one, give the real directory"

if [ -n "$NEW_UID" ]; then
  case $NEW_UID in *[!0-9]*) die "--uid must be a number, got '$NEW_UID'" ;; esac
fi
if getent passwd "$USER_NAME" >/dev/null; then
  USER_UID=$(id -u "$USER_NAME")
  [ -z "$NEW_UID" ] || [ "$NEW_UID" = "$USER_UID" ] || die "user $USER_NAME exists with uid $USER_UID, not $NEW_UID"
else
  USER_UID=
  if [ -n "$NEW_UID" ]; then
    ! getent passwd "$NEW_UID" >/dev/null || die "uid $NEW_UID is taken by $(getent passwd "$NEW_UID" | cut -d: -f1)"
    ! getent group "$NEW_UID" >/dev/null || die "gid $NEW_UID is taken by group $(getent group "$NEW_UID" | cut -d: -f1)"
  fi
fi

# --- Packages ---

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
MISSING=
for package in $PACKAGES; do installed "$package" || MISSING="$MISSING $package"; done
if [ -z "$MISSING" ]; then
  say "packages: $PACKAGES already installed"
else
  # A fresh image has no package lists; the ones fetched here are removed again, so the image
  # does not carry them. A machine that had lists keeps them.
  HAD_LISTS=no
  for list in /var/lib/apt/lists/*_Packages*; do [ -e "$list" ] && HAD_LISTS=yes; break; done
  say "packages: installing$MISSING"
  apt-get update
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $MISSING
  if [ "$HAD_LISTS" = no ]; then
    apt-get clean
    rm -rf /var/lib/apt/lists/*
  fi
fi
[ -x "$CHROMIUM" ] || die "chromium-headless-shell is installed but $CHROMIUM is missing"
command -v tini >/dev/null 2>&1 || die "tini is installed but not on PATH"

# --- User ---

CREATED=no
if [ -n "$USER_UID" ]; then
  say "user: $USER_NAME exists (uid $USER_UID)"
else
  CREATED=yes
  if [ -n "$NEW_UID" ]; then
    groupadd --system --gid "$NEW_UID" "$USER_NAME"
    useradd --system --uid "$NEW_UID" --gid "$USER_NAME" --home-dir "$USER_HOME" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  else
    useradd --system --user-group --home-dir "$USER_HOME" --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
  fi
  USER_UID=$(id -u "$USER_NAME")
  say "user: created $USER_NAME (uid $USER_UID)"
fi
USER_GROUP=$(id -gn "$USER_NAME")
# The home is made when missing, and given to a user created just now (a home left by an earlier
# user of that name would not be writable to it); a user that existed keeps its home as it is.
if [ ! -d "$USER_HOME" ]; then
  mkdir -p "$USER_HOME"
  chmod 0700 "$USER_HOME"
  chown "$USER_NAME:$USER_GROUP" "$USER_HOME"
elif [ "$CREATED" = yes ]; then
  chown "$USER_NAME:$USER_GROUP" "$USER_HOME"
fi

# --- The app's production dependencies ---

# npm's cache is removed afterwards only where this run made it (a fresh image). Every npm
# command writes its log under the cache directory, so the cache proper (_cacache) tells.
NPM_CACHE=$(npm config get cache)
HAD_NPM_CACHE=yes
case $NPM_CACHE in /?*) [ -d "$NPM_CACHE/_cacache" ] || HAD_NPM_CACHE=no ;; esac
say "npm: npm ci --omit=dev in $APP_DIR"
(cd "$APP_DIR" && npm ci --omit=dev --no-audit --no-fund)
if [ "$HAD_NPM_CACHE" = no ]; then
  rm -rf "$NPM_CACHE/_cacache" "$NPM_CACHE/_logs"
  rmdir "$NPM_CACHE" 2>/dev/null || true
fi
# The server writes its worker bundle and V8's code cache for the workers here when it starts
# (src/ipc/worker-program.ts); without write access every worker would run through tsx instead.
# The rest of the app stays root's, read-only to the server.
mkdir -p "$APP_DIR/node_modules/.cache/browser-fleet"
chown -R "$USER_NAME:$USER_GROUP" "$APP_DIR/node_modules/.cache/browser-fleet"

# --- The output directory ---

mkdir -p "$OUTPUT_DIR"
chown "$USER_NAME:$USER_GROUP" "$OUTPUT_DIR"
chmod 0700 "$OUTPUT_DIR"

# What the server will do as its user: read the app, write its bundle and its session files.
as_user() { setpriv --reuid="$USER_NAME" --regid="$USER_GROUP" --init-groups -- "$@"; }
as_user test -r "$APP_DIR/bin/browser-fleet.js" || die "$USER_NAME cannot read $APP_DIR/bin/browser-fleet.js (a parent directory shuts it out?)"
as_user test -w "$APP_DIR/node_modules/.cache/browser-fleet" || die "$USER_NAME cannot write $APP_DIR/node_modules/.cache/browser-fleet"
as_user test -w "$OUTPUT_DIR" || die "$USER_NAME cannot write $OUTPUT_DIR (a parent directory shuts it out?)"

say "done: node $NODE_VERSION, $CHROMIUM, user $USER_NAME (uid $USER_UID), app $APP_DIR, output $OUTPUT_DIR"
