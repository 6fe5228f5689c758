#!/bin/sh
# Installs the Debian packages the tests drive as real peers (swaks, mbsync, unbound, nsd,
# postfix, openssl, mutt, offlineimap3). Runs as root only; otherwise it reports what is
# missing and the tests that need it fail under CI=true or skip elsewhere.
set -e
PKGS="swaks libnet-ssleay-perl isync unbound nsd ldnsutils postfix openssl mutt offlineimap3 dnsutils"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "system-deps: missing Debian packages:$missing (run as root to install)" >&2
	exit 0
fi
echo "system-deps: installing$missing" >&2
# Keep package scripts from starting daemons (unbound on :53, postfix on :25): tests start their own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends $missing >/dev/null
