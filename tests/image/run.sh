#!/bin/bash
# Test image/build for real: build a small toolbox, mount it at /dev/crashcart
# inside a microcontainer whose root holds nothing but a tiny static init, and
# run the tools there as an unprivileged user. Also: two builds give the same
# bytes, and each kind of failure gives a one-line error.
#
# Runs as root. Exit 0 pass, 1 fail, 77 skip (reason printed).
# Everything it makes (mounts, loop devices, namespaces, temp dirs) is removed
# on exit, also on failure.
# Functions run from traps and through wrappers; scripts for the container
# are single-quoted on purpose.
# shellcheck disable=SC2317,SC2016
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build="$top/image/build"
packages="$here/packages"
NOBODY=65534
NSENTER=$(command -v nsenter)

# CC_IT_STRICT=1 (tools/test as root, so CI): a skip is a failure (README,
# "Not tested here").
skip() {
    if [ -n "${CC_IT_STRICT:-}" ]; then echo "FAIL (CC_IT_STRICT=1, would skip): $*"; exit 1; fi
    echo "SKIP: $*"; exit 77
}
[ "$(id -u)" -eq 0 ] || skip "must run as root (loop mounts, namespaces)"
for tool in unshare nsenter losetup mount pivot_root setpriv python3 patchelf \
    mke2fs mkfs.erofs mksquashfs dpkg-deb gpgv fakeroot; do
    command -v "$tool" >/dev/null || skip "$tool missing (run image/install-deps)"
done
uri=$(awk '!/^#/ && $1 ~ /^https?:/ {print $1 "/dists/" $2 "/InRelease"; exit}' \
    "$top/image/sources")
python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=20).read(1)' \
    "$uri" 2>/dev/null || skip "Debian archive unreachable ($uri)"

work=$(mktemp -d /tmp/crashcart-image-test.XXXXXX)
chmod 755 "$work"
loops=()
mounts=()
ct_pids=()

cleanup() {
    local p m l
    for p in "${ct_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${ct_pids[@]}"; do
        while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
    done
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() {   # check DESCRIPTION COMMAND... : pass when the command succeeds
    local what=$1 out; shift
    if out=$("$@" 2>&1); then pass "$what"; else
        fail "$what"; printf '%s\n' "$out" | tail -n 8 | sed 's/^/       /'
    fi
}

# A static init of a few bytes: umount2("/.oldroot", MNT_DETACH),
# rmdir("/.oldroot"), then pause() forever. The container root holds nothing
# else, so a tool from the image that needs anything from it fails.
make_init() {
    python3 - "$1" <<'EOF'
import struct, sys
code = bytes.fromhex(
    "488d3d23000000"   # lea rdi, [rip+path]
    "be02000000"       # mov esi, MNT_DETACH
    "b8a6000000"       # mov eax, SYS_umount2
    "0f05"             # syscall
    "488d3d10000000"   # lea rdi, [rip+path]
    "b854000000"       # mov eax, SYS_rmdir
    "0f05"             # syscall
    "b822000000"       # mov eax, SYS_pause
    "0f05"             # syscall
    "ebf7"             # jmp back to pause
) + b"/.oldroot\0"
base, off = 0x400000, 64 + 56
size = off + len(code)
ehdr = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
    "<HHIQQQIHHHHHH", 2, 62, 1, base + off, 64, 0, 0, 64, 56, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
with open(sys.argv[1], "wb") as f:
    f.write(ehdr + phdr + code)
EOF
    chmod 755 "$1"
}

# start_ct IMAGE FSTYPE: a container with private mount, pid, uts, ipc and net
# namespaces whose root is a directory holding only the static init, with the
# image loop-mounted read-only at /dev/crashcart. Sets CT to the init's pid.
start_ct() {
    local img=$1 fstype=$2 root loop upid
    root=$(mktemp -d "$work/root.XXXXXX")
    chmod 755 "$root"
    make_init "$root/init"
    mkdir "$root/proc" "$root/dev" "$root/etc" "$root/tmp" "$root/.oldroot"
    loop=$(losetup --find --show --read-only "$img") || return 1
    loops+=("$loop")
    # The runtime-provided files a container normally has: /etc/hostname
    # (tmpfs), /dev nodes, /proc, /tmp. No libc, no shell, no /etc/hosts.
    unshare --mount --uts --ipc --net --pid --fork --kill-child \
        --propagation private -- /bin/sh -ec '
        R=$1 LOOP=$2 FSTYPE=$3
        mount --bind "$R" "$R"
        mount -t proc -o nosuid,nodev,noexec proc "$R/proc"
        mount -t tmpfs -o nosuid,noexec,mode=755,size=1m tmpfs "$R/dev"
        for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0; do
            IFS=: read -r name maj min <<EOF
$n
EOF
            mknod -m 666 "$R/dev/$name" c "$maj" "$min"
        done
        mkdir "$R/dev/crashcart"
        mount -t "$FSTYPE" -o ro,nosuid,nodev "$LOOP" "$R/dev/crashcart"
        mount -t tmpfs -o nosuid,nodev,mode=755,size=1m tmpfs "$R/etc"
        echo crashcart-test > "$R/etc/hostname"
        mount -t tmpfs -o nosuid,nodev,mode=1777,size=16m tmpfs "$R/tmp"
        hostname crashcart-test
        cd "$R"
        pivot_root . .oldroot
        exec /init
    ' sh "$root" "$loop" "$fstype" </dev/null >"$work/ct.log" 2>&1 &
    upid=$!
    disown "$upid"
    ct_pids+=("$upid")
    CT=
    for _ in $(seq 100); do
        CT=$(awk '{print $1}' "/proc/$upid/task/$upid/children" 2>/dev/null)
        # the static init has run once its comm is "init" and .oldroot is gone
        if [ -n "$CT" ] && [ "$(cat "/proc/$CT/comm" 2>/dev/null)" = init ] &&
            [ ! -d "$root/.oldroot" ]; then
            break
        fi
        CT=; sleep 0.05
    done
    if [ -z "$CT" ]; then
        cat "$work/ct.log" >&2
        return 1
    fi
    ct_pids+=("$CT")
    # The mount lives in the container's namespace only; the loop device goes
    # away with it.
    losetup -d "$loop" 2>/dev/null
}

# ct USER COMMAND...: run a command in the container as USER (a uid), with a
# clean environment.
ct() {
    local uid=$1; shift
    env -i PATH=/dev/crashcart/bin:/dev/crashcart/sbin HOME=/tmp TERM=xterm \
        "$NSENTER" -t "$CT" -m -u -i -n -p -r -w -S "$uid" -G "$uid" -- "$@"
}
nobody() { ct "$NOBODY" "$@"; }

expect() {  # expect DESCRIPTION PATTERN COMMAND...: output must match PATTERN
    local what=$1 pat=$2 out; shift 2
    if out=$("$@" 2>&1) && printf '%s\n' "$out" | grep -Eq -- "$pat"; then
        pass "$what"
    else
        fail "$what"; printf '%s\n' "$out" | tail -n 8 | sed 's/^/       /'
    fi
}

# ---------------------------------------------------------------- builds
# The cache is kept between runs (apt's lists and .debs, checked against the
# signed index on every build): the same one tools/demo and -Dtoolbox use.
cache=${CRASHCART_CACHE:-/var/cache/crashcart-image}
mkdir -p "$cache/lists" "$cache/debs" "$cache/apt" "$work/a" "$work/b"
# what a root build does to it too: apt runs as uid 65534 and owns these
chown -R "$NOBODY:$NOBODY" "$cache/lists" "$cache/debs" "$cache/apt"
chown "$NOBODY:$NOBODY" "$work/a"
t0=$(date +%s)
check "build ext4 as a non-root user" \
    setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
    env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME=/nonexistent \
    "$build" --packages "$packages" --out "$work/a" --cache "$cache"
check "build ext4 again as root (warm cache)" \
    "$build" --packages "$packages" --out "$work/b" --cache "$cache"
echo "       (two builds: $(($(date +%s) - t0))s)"
[ -s "$work/a/crashcart.img" ] || { echo "FAIL - no image built; stopping"; exit 1; }
check "two builds give byte-identical images" cmp "$work/a/crashcart.img" "$work/b/crashcart.img"
check "two builds give identical manifests" cmp "$work/a/crashcart.manifest" "$work/b/crashcart.manifest"
# The cache uses apt's names (epochs as %3a), shared with apt.
expect "the cache holds .debs under apt's names (busybox 1:... as busybox_1%3a...)" \
    'busybox_1%3a[^ ]*_amd64\.deb' ls "$cache/debs"
# apt takes a cached .deb by its size: one tampered with in the cache (same
# size, other bytes) must be noticed against the signed index and fetched
# again; the image is then the same. With the check gone, dpkg-deb unpacks
# the tampered file (or fails) and the images differ.
bash_debs=("$cache"/debs/bash_*_amd64.deb)
tamper=${bash_debs[0]}
printf 'TAMPERED' | dd of="$tamper" bs=1 seek=2000 conv=notrunc status=none
# apt keeps an index the server calls unchanged (If-Modified-Since) without
# checking it again: as root the build copies and checks the indices itself;
# one that differs from its signed InRelease is fetched anew.
index_lists=("$cache"/lists/*_dists_*_main_binary-amd64_Packages)
tampered_index=${index_lists[0]}
printf 'Package: TAMPERED-INDEX\n\n' >>"$tampered_index"
# A relative --out once dropped the gconv cache (a relative symlink).
check "build with a relative --out (and a tampered .deb and index in the cache)" \
    sh -c 'cd "$1" && "$2" --packages "$3" --out rel --cache "$4"' \
    sh "$work" "$build" "$packages" "$cache"
check "the tampered .deb was fetched again" sh -c '! grep -q TAMPERED "$1"' sh "$tamper"
check "the tampered index was fetched again" sh -c '! grep -q TAMPERED-INDEX "$1"' sh "$tampered_index"
check "relative and absolute --out give byte-identical images" cmp "$work/a/crashcart.img" "$work/rel/crashcart.img"
expect "the gconv cache is in the image" ' usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache$' \
    cat "$work/rel/crashcart.manifest"

# Resolution by apt: versioned Provides (nload needs libgcc1 (>= 1:3.0),
# which only libgcc-s1's "Provides: libgcc1 (= 1:12...)" satisfies) and
# Conflicts (busybox and busybox-static cannot both be in).
mkdir -p "$work/r"
printf 'nload\n' >"$work/r/nload"
expect "resolve nload (versioned Provides: libgcc-s1 for libgcc1)" '^libgcc-s1 [^ ]+ amd64$' \
    "$build" --list --packages "$work/r/nload" --cache "$cache"
printf 'perl\n!perl-modules-5.36\n' >"$work/r/excl"
excl_check() {      # an excluded dependency is not fetched, the rest is
    local out; out=$("$build" --list --packages "$work/r/excl" --cache "$cache") || return 1
    printf '%s\n' "$out" | grep -q '^perl-base ' && ! printf '%s\n' "$out" | grep -q '^perl-modules'
}
check "!name keeps a dependency out (perl without perl-modules-5.36)" excl_check
expect "manifest lists packages with versions" '^package bash [0-9]' cat "$work/a/crashcart.manifest"
expect "manifest lists files with sha256" '^[0-9a-f]{64} 0755 usr/bin/bash$' cat "$work/a/crashcart.manifest"

# ---------------------------------------------------------------- container
if ! start_ct "$work/a/crashcart.img" ext4; then
    fail "start microcontainer with the ext4 image"; exit 1
fi
pass "microcontainer up (pid $CT), root holds only a static init"
check "manifest inside the image matches" \
    cmp "$work/a/crashcart.manifest" "/proc/$CT/root/dev/crashcart/.crashcart.manifest"
check "container has no libc of its own" \
    test ! -e "/proc/$CT/root/lib" -a ! -e "/proc/$CT/root/usr" -a ! -e "/proc/$CT/root/bin"
expect "layout: bin, sbin, profile/bin/bash, .crashcartrc" 'ok' nobody \
    /dev/crashcart/profile/bin/bash -c \
    'test -x /dev/crashcart/bin/ls && test -d /dev/crashcart/sbin &&
     test -r /dev/crashcart/.crashcartrc && echo ok'
expect "runs as uid 65534 without groups" '^uid=65534\(?[^ ]* gid=65534[^ ]* groups=65534' nobody \
    /dev/crashcart/bin/id
expect "bash --version" 'GNU bash' nobody /dev/crashcart/bin/bash --version
expect "bash with .crashcartrc: PATH, prompt, TERMINFO, MANPATH" \
    '^/dev/crashcart/bin:.*\|.*crashcart.*\|/dev/crashcart/lib/terminfo\|/dev/crashcart/usr/share/man$' \
    nobody /dev/crashcart/profile/bin/bash --rcfile /dev/crashcart/.crashcartrc -i -c \
    'echo "$PATH|$PS1|$TERMINFO|$MANPATH"'
expect "coreutils: ls /dev/crashcart" 'crashcartrc' nobody /dev/crashcart/bin/ls -a /dev/crashcart
# the prompt names the operator and the target as the broker gives them (not
# "I have no name!@<id>"), and PATH holds the image's directories once
expect "prompt: operator and target as typed; PATH once" \
    '^\[crashcart ccop@docker://web /\]\$ \|/dev/crashcart/bin:/dev/crashcart/sbin$' \
    env -i PATH=/dev/crashcart/bin:/dev/crashcart/sbin HOME=/tmp TERM=xterm \
    CRASHCART_USER=ccop CRASHCART_TARGET=docker://web \
    "$NSENTER" -t "$CT" -m -u -i -n -p -r -w -S "$NOBODY" -G "$NOBODY" -- \
    /dev/crashcart/profile/bin/bash --rcfile /dev/crashcart/.crashcartrc -i -c \
    'echo "${PS1@P}|$PATH"'
expect "busybox (static, as shipped)" 'BusyBox v' nobody /dev/crashcart/bin/busybox
expect "busybox sh runs a script" '^42$' nobody /dev/crashcart/bin/busybox sh -c 'echo $((6*7))'
expect "ip addr" '^1: lo:' nobody /dev/crashcart/bin/ip addr
expect "ps shows the container's processes" '^ *1 .*init' nobody /dev/crashcart/bin/ps -e
expect "strace -f true" 'exited with 0' nobody /dev/crashcart/bin/strace -f true
expect "getent hosts localhost (nss: myhostname, no /etc/hosts)" \
    '^(::1|127\.0\.0\.1) +localhost' nobody /dev/crashcart/bin/getent hosts localhost
# the files module reads the container's /etc/passwd (planted here for the
# check, then removed): the image's tools resolve the container's users
printf 'root:x:0:0:root:/root:/bin/sh\ncc-it:x:4242:4242::/:/bin/sh\n' >"/proc/$CT/root/etc/passwd"
expect "getent passwd (files module reads the container's /etc/passwd)" '^cc-it:x:4242:4242::/:/bin/sh$' nobody \
    /dev/crashcart/bin/getent passwd cc-it
expect "getent passwd of a missing user: not found (2), not a crash" '^rc=2$' nobody \
    /dev/crashcart/bin/sh -c '/dev/crashcart/bin/getent passwd no-such-user; echo "rc=$?"'
rm -f "/proc/$CT/root/etc/passwd"
expect "curl file:///etc/hostname" '^crashcart-test$' nobody \
    /dev/crashcart/bin/curl -sS file:///etc/hostname
expect "curl --version (openssl and friends load)" '^curl [0-9]' nobody \
    /dev/crashcart/bin/curl --version
expect "tcpdump -D" 'lo' nobody /dev/crashcart/bin/tcpdump -D
expect "gdb -batch -ex 'info os'" 'processes' nobody /dev/crashcart/bin/gdb -nx -batch -ex 'info os'
expect "less finds terminfo" 'hello' nobody /dev/crashcart/bin/sh -c \
    'echo hello | TERM=xterm /dev/crashcart/bin/less -F'
expect "top -bn1 (terminfo, /proc)" 'PID' nobody /dev/crashcart/bin/top -bn1
expect "iconv via gconv modules" '^caf' nobody /dev/crashcart/bin/sh -c \
    'printf "caf\351\n" | /dev/crashcart/bin/iconv -f LATIN1 -t UTF-8'
expect "relocated program's interpreter is the image's" \
    '^/dev/crashcart/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2$' \
    patchelf --print-interpreter "/proc/$CT/root/dev/crashcart/bin/bash"
expect "shebangs point into the image" '^#!/dev/crashcart/' \
    head -n1 "/proc/$CT/root/dev/crashcart/bin/ldd"
expect "ldd from the image" 'libc.so.6 => /dev/crashcart/' nobody \
    /dev/crashcart/bin/ldd /dev/crashcart/bin/ls
expect "ld.so.cache of the image is used" '/dev/crashcart/lib/x86_64-linux-gnu/libc.so.6' \
    nobody /dev/crashcart/sbin/ldconfig -p -C /dev/crashcart/etc/ld.so.cache

# ---------------------------------------------------------------- A2: hostile root
# Finding A2: a hostile container configured the toolbox. Its root planted
# start-up files (/etc/bash.bashrc with an EXIT trap, /.gdbinit, ...) and the
# image's programs ran them as the operator. Here container root plants every
# start-up file the image's bash, readline, gdb, vim and less would look for,
# plus a /bin/sh so that planted shell commands work; then the tools run as
# the broker starts them, and nothing planted may run (no /tmp/pwned* in the
# container, no INJECTED in the output) while the image's own files do.

# pty_run CHUNK... -- ARGV...: ARGV on a new pty; each chunk is typed once the
# output has been quiet for 0.3 s (python escapes: \r, \x04); prints what the
# program wrote, exits with its status (124 when it hangs).
cat >"$work/pty_run.py" <<'EOF'
import fcntl, os, pty, select, signal, struct, sys, termios, time
sep = sys.argv.index("--")
chunks, argv = sys.argv[1:sep], sys.argv[sep + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
out = []
def read(timeout):
    if not select.select([fd], [], [], max(timeout, 0))[0]:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:            # EIO: the other side is closed
        data = b""
    out.append(data)
    return data
ended = False
for chunk in chunks:
    quiet_since = time.monotonic()
    while not ended and time.monotonic() - quiet_since < 5:
        data = read(0.3)
        if data is None:
            break
        ended = data == b""
    if ended:
        break
    os.write(fd, chunk.encode().decode("unicode_escape").encode("latin-1"))
deadline = time.monotonic() + 10
while not ended and time.monotonic() < deadline:
    ended = read(deadline - time.monotonic()) == b""
if not ended:
    os.kill(pid, signal.SIGKILL)
status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.stdout.write(b"".join(out).decode(errors="replace"))
sys.exit(status if ended else 124)
EOF
pty_run() { python3 "$work/pty_run.py" "$@"; }

# plant_hostile_root ROOT: what container root can write into its own root.
plant_hostile_root() {
    local r=$1 f
    mkdir -p "$r/bin" "$r/etc/gdb/gdbinit.d" "$r/etc/vim" "$r/root" \
        "$r/usr/share/vim/vim90" "$r/usr/lib/debug/dev/crashcart/usr/bin" \
        "$r/.config/gdb" "$r/.vim"
    ln -s /dev/crashcart/bin/bash "$r/bin/sh"
    chmod 1777 "$r"     # history written to the cwd (/) would reach it
    printf '%s\n' "trap 'echo INJECTED > /tmp/pwned' EXIT" 'echo INJECTED-BASHRC' \
        >"$r/etc/bash.bashrc"
    for f in etc/profile etc/bash.bash_logout .bashrc .bash_profile .profile \
        .bash_logout; do
        echo "echo INJECTED > /tmp/pwned-bash-${f//\//-}" >"$r/$f"
    done
    # Ctrl-D (what the operator pressed) would type a command instead.
    for f in etc/inputrc .inputrc; do
        printf '%s\n' '"\C-d": "touch /tmp/pwned-inputrc; exit\r"' >"$r/$f"
    done
    for f in etc/gdb/gdbinit etc/gdb/gdbinit.d/x.gdb .gdbinit .gdbearlyinit \
        .config/gdb/gdbinit usr/lib/debug/dev/crashcart/usr/bin/true-gdb.gdb; do
        printf '%s\n' "shell touch /tmp/pwned-gdb-shell" \
            "python open('/tmp/pwned-gdb-${f//\//-}', 'w').close()" >"$r/$f"
    done
    for f in etc/vim/vimrc etc/vim/vimrc.tiny usr/share/vim/vimrc \
        usr/share/vim/vimrc.tiny usr/share/vim/defaults.vim \
        usr/share/vim/vim90/defaults.vim .vimrc .exrc .vim/vimrc; do
        echo "silent! !touch /tmp/pwned-vim-${f//\//-}" >"$r/$f"
    done
    for f in etc/syslesskey .lesskey; do
        printf '#env\nLESSOPEN=|touch /tmp/pwned-less-%s %%s\n' "${f//\//-}" >"$r/$f"
    done
}

# no_pwned OUTPUT-FILE: nothing planted ran (clears the evidence for the next
# check).
no_pwned() {
    local r="/proc/$CT/root" bad
    bad=$(cd "$r/tmp" && ls -d pwned* 2>/dev/null)
    rm -rf "$r"/tmp/pwned*
    if [ -n "$bad" ] || grep -q INJECTED "$1"; then
        echo "planted start-up files ran: ${bad:-(none)}"; tail -n 5 "$1"; return 1
    fi
}
# as-broker PID COMMAND...: as uid 65534 in container PID with exactly the
# environment the broker gives a tool (image/README.md); a file, for pty_run.
sed -e "s|@NSENTER@|$NSENTER|" -e "s|@NOBODY@|$NOBODY|g" >"$work/as-broker" <<'EOF'
#!/bin/bash
ct=$1; shift
exec env -i PATH=/dev/crashcart/bin:/dev/crashcart/sbin HOME=/dev/crashcart/home \
    INPUTRC=/dev/crashcart/etc/inputrc HISTFILE= LESSHISTFILE=- TERM=xterm \
    'PS1=[crashcart ccop@crashcart-test \W]\$ ' CRASHCART_TARGET=crashcart-test CRASHCART_USER=ccop \
    @NSENTER@ -t "$ct" -m -u -i -n -p -r -w -S @NOBODY@ -G @NOBODY@ -- "$@"
EOF
chmod 755 "$work/as-broker"
as_broker() { "$work/as-broker" "$CT" "$@"; }
broker_shell=(/dev/crashcart/bin/bash --rcfile /dev/crashcart/.crashcartrc -i)
a2_out="$work/a2.out"

a2_bash() {     # the finding itself: `crashcart ID`, then Ctrl-D
    pty_run 'echo "rc=$CRASHCART_BASHRC|$INPUTRC|$HOME|$SHELL|[$HISTFILE]"; bind -v\r' \
        '\x04' -- "$work/as-broker" "$CT" "${broker_shell[@]}" >"$a2_out" 2>&1
    no_pwned "$a2_out" && grep -q 'rc=/dev/crashcart' "$a2_out"
}
a2_bash_own() {     # what a2_bash's session printed
    local want='rc=/dev/crashcart/etc/bash.bashrc|/dev/crashcart/etc/inputrc|/dev/crashcart/home|/dev/crashcart/bin/bash|\[\]'
    if ! grep -q "$want" "$a2_out" || ! grep -q 'set bell-style none' "$a2_out"; then
        tail -n 5 "$a2_out"; return 1
    fi
}
a2_readline_no_inputrc() {   # a tool started without INPUTRC
    pty_run 'bind -v\r' '\x04' -- "$work/as-broker" "$CT" env -u INPUTRC \
        "${broker_shell[@]}" >"$a2_out" 2>&1
    no_pwned "$a2_out" && grep -q 'set bell-style none' "$a2_out"
}
a2_login() {
    as_broker /dev/crashcart/bin/bash -l -c 'echo login' >"$a2_out" 2>&1
    no_pwned "$a2_out" && grep -q '^login' "$a2_out"
}
a2_gdb() {
    as_broker /dev/crashcart/bin/gdb -batch -ex 'show auto-load local-gdbinit' \
        /dev/crashcart/bin/true >"$a2_out" 2>&1
    no_pwned "$a2_out" && grep -q 'current directory is off' "$a2_out"
}
a2_vim() {      # -E on a pty: -Es would skip every start-up file
    pty_run -- "$work/as-broker" "$CT" "/dev/crashcart/bin/$1" -E -c 'set modelines?' \
        -c 'qa!' >"$a2_out" 2>&1
    no_pwned "$a2_out" && grep -q 'modelines=0' "$a2_out"
}
a2_less() {
    pty_run q -- "$work/as-broker" "$CT" /dev/crashcart/bin/less /dev/crashcart/.crashcartrc \
        >"$a2_out" 2>&1 && no_pwned "$a2_out" && grep -q crashcart "$a2_out"
}
a2_terminfo() {     # the container's terminfo would pick the escape sequences
    as_broker /dev/crashcart/bin/strace -e trace=%file -o /tmp/less.strace \
        /dev/crashcart/bin/less -F /dev/crashcart/etc/inputrc >/dev/null &&
        ! grep '"/etc/terminfo' "/proc/$CT/root/tmp/less.strace"
}
a2_no_history() {   # also when the operator asks gdb to save its history
    pty_run 'echo hi\r' 'quit\r' -- "$work/as-broker" "$CT" /dev/crashcart/bin/gdb \
        -q -ex 'set history save on' >"$a2_out" 2>&1
    local found
    found=$(cd "/proc/$CT/root" && find . ./tmp ./root -maxdepth 1 \
        \( -name '*hist*' -o -name '.viminfo' -o -name '.lesshst' \) 2>/dev/null)
    [ -z "$found" ] || { echo "history written into the container: $found"; return 1; }
}

plant_hostile_root "/proc/$CT/root"
check "A2: interactive bash as the broker starts it, then Ctrl-D, runs nothing the container planted" a2_bash
check "A2: ... and reads the image's bash.bashrc, .crashcartrc and inputrc (HOME, INPUTRC, SHELL in the image, no HISTFILE)" a2_bash_own
check "A2: readline without INPUTRC reads the image's inputrc, not the container's" a2_readline_no_inputrc
check "A2: a login shell reads neither the container's /etc/profile nor its logout files" a2_login
check "A2: gdb -batch runs no gdbinit or auto-load script of the container; the image's gdbinit applies" a2_gdb
check "A2: vim (ex mode on a pty) reads the image's vimrc, not the container's" a2_vim vim
check "A2: vi (vim.tiny as vi) reads the image's vimrc.tiny, not the container's" a2_vim vi
check "A2: less reads no lesskey of the container" a2_less
check "A2: curses programs never look at the container's /etc/terminfo" a2_terminfo
check "A2: no history or viminfo file appears in the container" a2_no_history

# A library loaded by name that neither the run path nor the image's cache
# has (top's dlopen("libnuma.so")) is not looked for in ld.so's default
# /lib and /usr/lib: in a container those are the container's.
no_default_lib() {
    as_broker /dev/crashcart/bin/strace -f -e trace=openat -o /tmp/top.strace \
        /dev/crashcart/bin/top -bn1 >/dev/null || return 1
    ! grep -E '"/(usr/)?lib[^"]*\.so' "/proc/$CT/root/tmp/top.strace"
}
check "loader: no library is looked for in the container's /lib or /usr/lib (top)" no_default_lib

# ---------------------------------------------------------------- other formats
for fmt in erofs squashfs; do
    if ! grep -qw "$fmt" /proc/filesystems && ! modprobe "$fmt" 2>/dev/null; then
        echo "skip - $fmt: kernel has no $fmt support"; continue
    fi
    mkdir -p "$work/$fmt"
    if ! "$build" --format "$fmt" --packages "$packages" --out "$work/$fmt" \
        --cache "$cache" >"$work/$fmt.log" 2>&1; then
        fail "build $fmt"; tail -n 5 "$work/$fmt.log" | sed 's/^/       /'; continue
    fi
    pass "build $fmt ($(du -k "$work/$fmt/crashcart.img" | cut -f1) KiB vs ext4 $(du -k "$work/a/crashcart.img" | cut -f1) KiB)"
    check "$fmt manifest lists the same files as ext4" \
        cmp <(grep -v '^format' "$work/a/crashcart.manifest") \
            <(grep -v '^format' "$work/$fmt/crashcart.manifest")
    if start_ct "$work/$fmt/crashcart.img" "$fmt"; then
        expect "$fmt: ip addr + getent in the container" '^::1|^127' nobody \
            /dev/crashcart/bin/bash -c '/dev/crashcart/bin/ip addr >/dev/null &&
                /dev/crashcart/bin/getent hosts localhost'
    else
        fail "$fmt: start microcontainer"
    fi
done

# ---------------------------------------------------------------- errors
# expect_error DESCRIPTION PATTERN ARGS...: build must fail with exit 1 and a
# one-line error matching PATTERN.
expect_error() {
    local what=$1 pat=$2 rc err; shift 2
    "$build" "$@" >"$work/err.out" 2>"$work/err.log"; rc=$?
    err=$(grep -c 'error:' "$work/err.log")
    if [ "$rc" -eq 1 ] && [ "$err" -eq 1 ] && grep -Eq -- "error: $pat" "$work/err.log"; then
        pass "$what: $(grep 'error:' "$work/err.log")"
    else
        fail "$what (exit $rc)"; tail -n 5 "$work/err.log" | sed 's/^/       /'
    fi
}
mkdir -p "$work/e"
printf 'bash\nno-such-package-xyz\n' >"$work/e/unknown"
expect_error "unknown package" 'unknown package: no-such-package-xyz' \
    --packages "$work/e/unknown" --out "$work/e" --cache "$cache"

printf 'keyring /usr/share/keyrings/debian-archive-keyring.gpg\nhttp://127.0.0.1:9/debian bookworm main\n' \
    >"$work/e/sources"
expect_error "archive unreachable" 'archive unreachable: http://127.0.0.1:9/' \
    --sources "$work/e/sources" --packages "$packages" --out "$work/e" \
    --cache "$work/e/cache"

printf 'busybox\nbusybox-static\n' >"$work/e/conflict"
expect_error "conflicting packages" 'conflicting packages: busybox(-static)? conflicts with busybox' \
    --packages "$work/e/conflict" --out "$work/e" --cache "$cache"

mkdir -p "$work/full"
mount -t tmpfs -o size=2m tmpfs "$work/full" && mounts+=("$work/full")
expect_error "disk full" 'disk full' --packages "$packages" --out "$work/full" \
    --cache "$cache"

# A package with a program for another machine (the ELF header of `true`,
# relabelled ARM): its binaries cannot be relocated.
deb="$work/e/armtool"
mkdir -p "$deb/DEBIAN" "$deb/usr/bin"
printf 'Package: armtool\nVersion: 1.0\nArchitecture: amd64\nMaintainer: test <t@example.invalid>\nDescription: test\n' \
    >"$deb/DEBIAN/control"
cp /bin/true "$deb/usr/bin/armtrue"
printf '\050\000' | dd of="$deb/usr/bin/armtrue" bs=1 seek=18 conv=notrunc status=none
dpkg-deb --root-owner-group -b "$deb" "$work/e/armtool.deb" >/dev/null
printf 'bash\narmtool.deb\n' >"$work/e/badpkgs"
expect_error "unrelocatable binary names file and reason" \
    'cannot relocate usr/bin/armtrue \(package armtool\): ELF for machine 40' \
    --packages "$work/e/badpkgs" --out "$work/e" --cache "$cache"

# ---------------------------------------------------------------- the toolbox
# The full default toolbox through crashcart (tests/image/toolbox.sh).
if [ -n "${CC_IMAGE_NO_TOOLBOX:-}" ]; then
    echo "skip - the default toolbox through crashcart (CC_IMAGE_NO_TOOLBOX set)"
elif ! bash "$here/toolbox.sh" "$top" "$cache" "$work"; then
    fail "the default toolbox through crashcart (tests/image/toolbox.sh)"
fi

if [ "$fails" -gt 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all image checks passed"
exit 0
