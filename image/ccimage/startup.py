"""Start-up files: what the image's programs read at start, and from where.

The container's root is hostile: whatever its /etc or $HOME holds must not
configure the image's programs (a planted /etc/bash.bashrc would run in the
operator's shell; a /etc/gdb/gdbinit can run `shell` and `python`). Each
start-up file compiled into a program of the image is pointed at a file the
image ships, or at a path that never exists: PREFIX + "/-" where it fits,
else "" (open("") fails with ENOENT whatever the container holds; every
program below treats that like a missing file). The broker's environment
(HOME, INPUTRC, HISTFILE, LESSHISTFILE; image/README.md) covers the
per-user files."""

import glob
import os

from .paths import PREFIX, TRIPLET, make_link, write
from .util import BuildError

NSSWITCH = """\
# crashcart: the container's own /etc/nsswitch.conf may name modules that are
# not in this image; these are the ones that are. myhostname answers for
# localhost and the host name even when the container has no /etc/hosts.
passwd:         files
group:          files
shadow:         files
hosts:          files myhostname dns
networks:       files
protocols:      files
services:       files
ethers:         files
rpc:            files
"""
CRASHCARTRC = """\
# crashcart shell set-up: /dev/crashcart/bin/bash --rcfile this-file -i
# Nothing set here may lead back into the container: every path is the
# image's. Tools from the image come first on PATH (the broker's PATH holds
# nothing else).
case $PATH in
/dev/crashcart/bin:/dev/crashcart/sbin | /dev/crashcart/bin:/dev/crashcart/sbin:*) ;;
*) PATH="/dev/crashcart/bin:/dev/crashcart/sbin${PATH:+:$PATH}" ;;
esac
export PATH
# Start-up files come from the image (image/README.md): HOME is in the image,
# readline, vim and OpenSSL read the image's files; no history is written.
case $HOME in /dev/crashcart | /dev/crashcart/*) ;; *) HOME=/dev/crashcart/home ;; esac
export HOME INPUTRC=/dev/crashcart/etc/inputrc VIM=/dev/crashcart
export OPENSSL_CONF=/dev/crashcart/usr/lib/ssl/openssl.cnf
HISTFILE=
export LESSHISTFILE=-
# Shell escapes (vim's :!, less's !, gdb's shell) run $SHELL; bash's default
# for it is the container's /bin/sh.
export SHELL=/dev/crashcart/bin/bash
export MANPATH=/dev/crashcart/usr/share/man
export TERMINFO=/dev/crashcart/lib/terminfo
export TERMINFO_DIRS=/dev/crashcart/lib/terminfo:/dev/crashcart/usr/share/terminfo
export GCONV_PATH=/dev/crashcart/gconv
export LOCPATH=/dev/crashcart/usr/lib/locale
export MAGIC=/dev/crashcart/magic.mgc
export SSL_CERT_FILE=/dev/crashcart/etc/ssl/certs/ca-certificates.crt
export SSL_CERT_DIR=/dev/crashcart/etc/ssl/certs
export CURL_CA_BUNDLE=/dev/crashcart/etc/ssl/certs/ca-certificates.crt
export WGETRC=/dev/crashcart/etc/wgetrc
export GROFF_FONT_PATH=/dev/crashcart/usr/share/groff/current/font
export GROFF_TMAC_PATH=/dev/crashcart/etc/groff:/dev/crashcart/usr/share/groff/site-tmac:/dev/crashcart/usr/share/groff/current/tmac
export PAGER=less MANPAGER=less EDITOR=vi
: "${TERM:=xterm}"; export TERM
: "${LANG:=C.UTF-8}"; export LANG
# Nothing from the container may be preloaded into the image's programs.
unset LD_PRELOAD LD_LIBRARY_PATH
# The operator and the target as typed, from the broker (CRASHCART_USER,
# CRASHCART_TARGET): the container's /etc/passwd does not know the operator
# (\\u would say "I have no name!") and its host name is often an id. Single
# quotes: the values are expanded at each prompt, never re-read as code.
PS1='[crashcart ${CRASHCART_USER:-\\u}@${CRASHCART_TARGET:-\\h} \\W]\\$ '
"""
WGETRC = "ca_certificate = /dev/crashcart/etc/ssl/certs/ca-certificates.crt\n"
VALGRIND = """\
#!/dev/crashcart/bin/sh
# crashcart: Debian's wrapper set LD_LIBRARY_PATH=/usr/lib/debug, which in a
# container is the container's: its libraries would be loaded into the
# image's programs. Valgrind reads ./.valgrindrc when the operator owns it:
# in the container's directories, that is the container's choice of options.
if [ -e ./.valgrindrc ] || [ -L ./.valgrindrc ]; then
    echo "valgrind (crashcart): refusing to start in $(pwd): it holds a .valgrindrc, which valgrind would obey; cd elsewhere" >&2
    exit 125
fi
export GLIBCXX_FORCE_NEW=1
exec /dev/crashcart/usr/bin/valgrind.bin "$@"
"""


def valgrind_wrapper(root):
    if os.path.isfile(os.path.join(root, "usr/bin/valgrind.bin")):
        write(root, "usr/bin/valgrind", VALGRIND, 0o755)


# perf and bpftrace (issue 12): the tool's seccomp filter refuses
# perf_event_open under every profile but ptrace, and bpf under all of them,
# with EPERM; perf then blames perf_event_paranoid and bpftrace root, which
# is not why. The wrappers run the program (not exec: its exit is needed)
# and, when it failed in a crashcart session (CRASHCART_PROFILE, set by the
# broker) whose profile refuses the call, add one line saying so. Ctrl-C is
# the program's to handle: the shell traps it (reset in the child on exec)
# and waits.
REFUSAL = """\
#!/dev/crashcart/bin/sh
# crashcart: say when the session's profile, not the kernel, refused %(what)s.
trap : INT QUIT
/dev/crashcart/usr/bin/%(prog)s.bin "$@"
rc=$?
if [ "$rc" -ne 0 ] && [ -n "${CRASHCART_PROFILE:-}" ]%(when)s; then
    echo "crashcart: %(line)s" >&2
fi
exit "$rc"
"""
PERF = REFUSAL % {
    "what": "perf_event_open", "prog": "perf",
    # the subcommands that open events (report, script, annotate read a file)
    "when": ' && [ "$CRASHCART_PROFILE" != ptrace ] && case ${1:-} in '
            'stat|record|top|trace|sched|mem|c2c|lock|kmem|kwork|timechart|ftrace|kvm) true ;; *) false ;; esac',
    "line": "perf_event_open is refused by this session's profile ($CRASHCART_PROFILE); "
            "a rule with profile = ptrace allows perf stat/record of the container's processes",
}
BPFTRACE = REFUSAL % {
    "what": "bpf", "prog": "bpftrace", "when": "",
    "line": "bpf is refused under every profile (this session's: $CRASHCART_PROFILE): bpftrace needs "
            "CAP_BPF and CAP_PERFMON and sees the whole host, which crashcart does not grant",
}


def refusal_wrappers(root):
    """usr/bin/perf and usr/bin/bpftrace become PROG.bin and a wrapper, in
    an image with a sh to run it (else they stay as they are)."""
    if not os.path.isfile(os.path.join(root, "usr/bin/sh")):
        return
    for prog, text in (("perf", PERF), ("bpftrace", BPFTRACE)):
        path = os.path.join(root, "usr/bin", prog)
        if os.path.isfile(path) and not os.path.islink(path):
            os.rename(path, path + ".bin")
            write(root, "usr/bin/" + prog, text, 0o755)


NOWHERE = PREFIX + "/-"     # never exists: the image has no such file
NO_FILE = ""                # for paths too short to hold PREFIX + "/x"
P11KIT = "usr/lib/" + TRIPLET + "/libp11-kit.so.*"
GNUTLS = "usr/lib/" + TRIPLET + "/libgnutls.so.*"
LIBCRYPTO = "usr/lib/" + TRIPLET + "/libcrypto.so.*"

# (where, old, new, {alias: target}): like STRING_PATCHES, plus `where`, a
# glob of the image files that must contain `old` when they are in the image:
# the build fails if a new package version moved the path (a silent miss
# would hand the tool back to the container).
STARTUP_PATCHES = [
    # bash: SYS_BASHRC is read before --rcfile; the others by login shells.
    ("usr/bin/bash", "/etc/bash.bashrc", PREFIX + "/b",
     {"b": "etc/bash.bashrc"}),
    ("usr/bin/bash", "/etc/bash.bash_logout", NOWHERE, {}),
    ("usr/bin/bash", "/etc/profile", NO_FILE, {}),
    # readline, in bash and in libreadline: read only when INPUTRC is unset
    # and ~/.inputrc is missing; HOME's .inputrc links to the image's.
    ("usr/bin/bash", "/etc/inputrc", NO_FILE, {}),
    ("usr/lib/" + TRIPLET + "/libreadline.so.*", "/etc/inputrc", NO_FILE, {}),
    # gdb: its system gdbinit can run any command; ours confines auto-load.
    ("usr/bin/gdb", "/etc/gdb/gdbinit", PREFIX + "/g",
     {"g": "etc/gdb/gdbinit"}),
    ("usr/bin/gdb", "/etc/gdb/gdbinit.d", PREFIX + "/gd",
     {"gd": "etc/gdb/gdbinit.d"}),
    # vim: $VIM defaults to the image root (same length as /usr/share/vim);
    # $VIMRUNTIME is then $VIM/vimNN, a link made by confine_startup_files.
    # The system vimrc is sourced with $VIM expanded; the default
    # 'runtimepath' loses the container's /etc/vim and /var/lib/vim.
    ("usr/bin/vim.*", "/usr/share/vim", PREFIX, {}),
    ("usr/bin/vim.*", "/etc/vim/vimrc", "$VIM/vimrc",
     {"vimrc": "etc/vim/vimrc"}),
    ("usr/bin/vim.tiny", "/etc/vim/vimrc.tiny", "$VIM/vimrc.tiny",
     {"vimrc.tiny": "etc/vim/vimrc.tiny"}),
    ("usr/bin/vim.*",
     "~/.vim,/var/lib/vim/addons,/etc/vim,$VIM/vimfiles,$VIMRUNTIME,"
     "$VIM/vimfiles/after,/etc/vim/after,/var/lib/vim/addons/after,"
     "~/.vim/after",
     "~/.vim,$VIM/vimfiles,$VIMRUNTIME,$VIM/vimfiles/after,~/.vim/after", {}),
    ("usr/bin/vim.*",
     "/var/lib/vim/addons,/etc/vim,$VIM/vimfiles,$VIMRUNTIME,"
     "$VIM/vimfiles/after,/etc/vim/after,/var/lib/vim/addons/after",
     "$VIM/vimfiles,$VIMRUNTIME,$VIM/vimfiles/after", {}),
    # less: system lesskey files (a lesskey can set LESSOPEN, a command);
    # `v` runs the editor found first on PATH, not the container's.
    ("usr/bin/less", "/etc/sysless", NO_FILE, {}),
    ("usr/bin/less", "/etc/syslesskey", NO_FILE, {}),
    ("usr/bin/less", "/usr/bin/.sysless", NOWHERE, {}),
    ("usr/bin/less", "/usr/bin/editor", "editor", {}),
    # top: a toprc can hold "Inspect" entries, commands run on a key press.
    ("usr/bin/top", "/etc/toprc", NO_FILE, {}),
    ("usr/bin/top", "/etc/topdefaultrc", NOWHERE, {}),
    ("usr/bin/htop", "/etc/htoprc", NO_FILE, {}),
    # wget reads the system wgetrc first, even when WGETRC is set.
    ("usr/bin/wget", "/etc/wgetrc", NO_FILE, {}),
    ("usr/bin/ltrace", "/etc/ltrace.conf", PREFIX + "/l",
     {"l": "etc/ltrace.conf"}),
    # ncurses searches its compiled-in TERMINFO, the container's
    # /etc/terminfo, after the image's directories, for a TERM the image
    # lacks: the container would pick the escape sequences sent to the
    # operator's terminal.
    ("usr/lib/" + TRIPLET + "/libtinfo.so.*", "/etc/terminfo", NO_FILE, {}),
    # Plug-in loaders: a module list or a module directory in the container
    # would load the container's shared objects into curl, wget or gdb.
    # p11-kit (under gnutls): the image ships no PKCS#11 module.
    (P11KIT, "/etc/pkcs11/modules", NOWHERE, {}),
    (P11KIT, "/etc/pkcs11/pkcs11.conf", NOWHERE, {}),
    (P11KIT, "/usr/share/p11-kit/modules", NOWHERE, {}),
    (P11KIT, "/usr/lib/" + TRIPLET + "/pkcs11", NOWHERE, {}),
    (GNUTLS, "/etc/gnutls/config", NOWHERE, {}),
    (GNUTLS, "/etc/gnutls/pkcs11.conf", NOWHERE, {}),
    # OpenSSL's engines and providers by name. Its openssl.cnf lives under
    # OPENSSLDIR, /usr/lib/ssl, too short to patch: .crashcartrc sets
    # OPENSSL_CONF instead.
    (LIBCRYPTO, "/usr/lib/" + TRIPLET + "/engines-3", PREFIX + "/e3",
     {"e3": "usr/lib/" + TRIPLET + "/engines-3"}),
    (LIBCRYPTO, "/usr/lib/" + TRIPLET + "/ossl-modules", PREFIX + "/om",
     {"om": "usr/lib/" + TRIPLET + "/ossl-modules"}),
]

# perl: @INC is compiled in, every entry a path of the container (a planted
# /etc/perl/strict.pm would run in every perl script). Each entry is pushed
# with its compiled-in length and split at ':' (APPLLIB_EXP and friends), so
# an entry padded with ':' is the shorter path, and one made of ':' only is
# no entry at all (checked: `perl -e 'print "@INC"'`). The image's own
# directories stay, through short links; /etc/perl and /usr/local go.
PERL_INC = [
    ("/etc/perl", ""),
    ("/usr/local/lib/" + TRIPLET + "/perl/5.36.0", ""),
    ("/usr/local/share/perl/5.36.0", ""),
    ("/usr/local/lib/site_perl", ""),
    ("/usr/lib/" + TRIPLET + "/perl5/5.36", "p5"),
    ("/usr/share/perl5", "q"),
    ("/usr/lib/" + TRIPLET + "/perl-base", "pb"),
    ("/usr/lib/" + TRIPLET + "/perl/5.36", "pa"),
    ("/usr/share/perl/5.36", "ps"),
]
for _where in ("usr/bin/perl", "usr/lib/" + TRIPLET + "/libperl.so.5.*"):
    for _old, _alias in PERL_INC:
        if _alias == "pb" and "libperl" in _where:
            continue            # perl-base's directory is the perl binary's only
        STARTUP_PATCHES.append(
            (_where, _old, ((PREFIX + "/" + _alias) if _alias else "").ljust(len(_old), ":"),
             {_alias: _old.lstrip("/")} if _alias else {}))
BASH_BASHRC = """\
# crashcart: the image's bash reads this file where Debian's reads
# /etc/bash.bashrc (the compiled-in path points here; image/README.md), before
# --rcfile /dev/crashcart/.crashcartrc. Nothing here reads the container.
case $- in *i*) ;; *) return ;; esac
shopt -s checkwinsize
# Says which system bashrc this shell read.
CRASHCART_BASHRC=/dev/crashcart/etc/bash.bashrc
"""
INPUTRC = """\
# crashcart: readline's start-up file. The broker sets INPUTRC to this file
# and /dev/crashcart/home/.inputrc links here, so the container's
# /etc/inputrc and ~/.inputrc are never read.
set input-meta on
set output-meta on
set bell-style none
"\\e[1~": beginning-of-line
"\\e[4~": end-of-line
"\\e[3~": delete-char
"\\e[2~": quoted-insert
"\\e[1;5C": forward-word
"\\e[1;5D": backward-word
"""
GDBINIT = """\
# crashcart: gdb's system start-up file (the compiled-in /etc/gdb/gdbinit
# points here). The container's files are data to gdb, never commands: no
# .gdbinit from the current directory, no auto-loaded script from outside the
# image (the default safe-path includes the container's /usr/lib/debug), the
# image's libthread_db only, and no history file.
set auto-load local-gdbinit off
set auto-load safe-path /dev/crashcart/usr/share/gdb/auto-load
set auto-load scripts-directory /dev/crashcart/usr/share/gdb/auto-load
set libthread-db-search-path $sdir
set history filename
"""
VIMRC_SAFETY = """\
" Files of the container are edited, never obeyed; nothing is written back
" but the files edited (vim.tiny has no viminfo: hence silent!).
set nomodeline modelines=0
silent! set viminfo=
"""
VIMRC = """\
" crashcart: the image's vim reads this file ($VIM/vimrc, $VIM being
" /dev/crashcart) where Debian's reads /etc/vim/vimrc.
set nocompatible backspace=indent,eol,start ruler
""" + VIMRC_SAFETY
VIMRC_TINY = """\
" crashcart: vim.tiny started as vi reads this file ($VIM/vimrc.tiny) where
" Debian's reads /etc/vim/vimrc.tiny.
set compatible
""" + VIMRC_SAFETY

# (program that needs it, image file, text); written only when the program is
# in the image.
STARTUP_FILES = [
    ("usr/bin/bash", "etc/bash.bashrc", BASH_BASHRC),
    ("usr/bin/gdb", "etc/gdb/gdbinit", GDBINIT),
    ("usr/bin/vim.*", "etc/vim/vimrc", VIMRC),
    ("usr/bin/vim.tiny", "etc/vim/vimrc.tiny", VIMRC_TINY),
]


def present(root, pattern):
    """Image files matching a glob such as usr/bin/vim.*, sorted."""
    return sorted(os.path.relpath(p, root)
                  for p in glob.glob(os.path.join(root, pattern)))


def confine_startup_files(root):
    """Ship the start-up files STARTUP_PATCHES point at, HOME, and the links
    they need; run before patch_strings."""
    write(root, "etc/inputrc", INPUTRC)   # the broker's INPUTRC, always
    os.makedirs(os.path.join(root, "home"), exist_ok=True)
    make_link(root, "home/.inputrc", "../etc/inputrc")
    for program, rel, text in STARTUP_FILES:
        if present(root, program):
            write(root, rel, text)
    if present(root, "usr/bin/gdb"):
        os.makedirs(os.path.join(root, "etc/gdb/gdbinit.d"), exist_ok=True)
    for rel in present(root, "usr/share/vim/vim[0-9]*"):
        make_link(root, os.path.basename(rel), rel)     # $VIMRUNTIME


def check_startup_patches(root, found):
    """Each start-up path must have been found where it is expected."""
    missing = []
    for where, old, _new, _links in STARTUP_PATCHES:
        files = [f for f in present(root, where)
                 if not os.path.islink(os.path.join(root, f))]
        if files and not set(files) & set(found.get(old, [])):
            missing.append("%s in %s" % (old, " ".join(files)))
    if missing:
        raise BuildError("compiled-in start-up path not found: %s (a new "
                         "version? update STARTUP_PATCHES)" % "; ".join(missing))
