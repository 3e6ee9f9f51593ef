"""The Debian archive side of image/build, done by apt itself.

apt-get runs rootless in a private directory tree: its own sources.list
(image/sources, each archive `signed-by` the keyring named there), its own
dpkg status file and no system configuration, so nothing of the host's apt
set-up is used and nothing is installed. apt fetches and verifies the indices
(InRelease against the keyring, Packages against the signed sums), resolves
Depends and Pre-Depends with versioned Provides, Breaks and Conflicts, and
downloads the .debs into the cache under its own names (epochs as `%3a`),
checking each against the signed index.

When the build runs as root, apt runs as uid 65534 (nobody): it then needs no
privilege and could not write outside the cache if it wanted to; the cache's
apt directories are handed to that uid.

`!name` exclusions are packages the status file says are installed (at the
archive's candidate version, with its Provides, without dependencies), so
that apt satisfies dependencies on them without fetching them; a name no
package has is faked as a package of that name.
"""

import os
import re
import shutil
import tempfile

from .util import BuildError, log, run_tool, sha256_file

ARCH = "amd64"
NOBODY = 65534
FAKE_VERSION = "0crashcart"


def read_sources(path):
    """image/sources: `keyring FILE` and `URI SUITE COMPONENT...` lines."""
    keyring = None
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "keyring" and len(words) == 2:
                keyring = words[1]
            elif len(words) >= 3 and re.match(r"^[a-z+]+:", words[0]):
                entries.append((words[0].rstrip("/"), words[1], words[2:]))
            else:
                raise BuildError("%s: bad line: %s" % (path, line.strip()))
    if not entries:
        raise BuildError("%s: no archives configured" % path)
    if keyring is None:
        raise BuildError("%s: no keyring line (every archive must be signed)" % path)
    if not os.path.exists(keyring):
        raise BuildError("keyring %s missing (run image/install-deps)" % keyring)
    return keyring, entries


def apt_quote(s):
    """apt's QuoteString(s, "_:"): the escaping of archive file names."""
    out = []
    for ch in s:
        if ch in "_:%" or not ch.isprintable() or ch in " \x7f":
            out.append("%%%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def deb_name(name, version, arch):
    """The file name apt gives a downloaded package: bash_5.2.15-2+b13_amd64.deb,
    nmap_7.93+dfsg1-1_amd64.deb, gawk_1%3a5.2.1-2_amd64.deb."""
    return "%s_%s_%s.deb" % (name, apt_quote(version), apt_quote(arch))


class Archive:
    """apt in a private tree: lists and .debs in CACHE, the rest in a
    temporary directory removed by close()."""

    def __init__(self, sources_file, cache):
        self.keyring, self.sources = read_sources(sources_file)
        self.cache = os.path.abspath(cache)
        self.as_nobody = os.geteuid() == 0
        self.lists = os.path.join(self.cache, "lists")
        self.debs = os.path.join(self.cache, "debs")
        self.aptcache = os.path.join(self.cache, "apt")
        for d in (self.lists + "/partial", self.debs + "/partial", self.aptcache):
            os.makedirs(d, exist_ok=True)
        if self.as_nobody:
            for d in (self.lists, self.debs, self.aptcache):
                os.chown(d, NOBODY, NOBODY)
                for name in os.listdir(d):   # e.g. an earlier build's, as root
                    p = os.path.join(d, name)
                    if os.lstat(p).st_uid != NOBODY:
                        os.lchown(p, NOBODY, NOBODY)
        self.dir = tempfile.mkdtemp(prefix="crashcart-apt.")
        os.chmod(self.dir, 0o755)
        # Building as root: what apt (uid 65534) leaves in the cache, that
        # uid can change at any time; the indices and .debs the build uses
        # are copies here, checked after copying (pin_lists, download).
        self.private = None
        if self.as_nobody:
            self.private = tempfile.mkdtemp(prefix="crashcart-checked.")
            os.chmod(self.private, 0o755)
        self.status = os.path.join(self.dir, "status")
        self.conf = os.path.join(self.dir, "apt.conf")
        etc = os.path.join(self.dir, "etc")
        for d in ("apt.conf.d", "preferences.d", "sources.list.d", "trusted.gpg.d"):
            os.makedirs(os.path.join(etc, d))
        with open(os.path.join(etc, "sources.list"), "w", encoding="utf-8") as f:
            for uri, suite, comps in self.sources:
                f.write("deb [arch=%s signed-by=%s] %s %s %s\n"
                        % (ARCH, self.keyring, uri, suite, " ".join(comps)))
        self.write_status([])
        options = {
            # nothing of the host's apt configuration or state
            "Dir": self.dir + "/",
            "Dir::Etc": etc + "/",
            "Dir::Etc::main": "/dev/null",
            "Dir::Etc::Trusted": "/dev/null",
            "Dir::State": self.dir + "/",
            "Dir::State::lists": self.lists + "/",
            "Dir::State::status": self.status,
            "Dir::State::extended_states": os.path.join(self.dir, "extended_states"),
            "Dir::Cache": self.aptcache + "/",
            "Dir::Cache::archives": self.debs + "/",
            # the binary cache depends on the status file, which each build
            # writes anew; the source cache (the indices) is reused
            "Dir::Cache::pkgcache": "",
            "Dir::Log": self.dir + "/",
            "Dir::Bin::dpkg": "/bin/false",   # never runs: download only
            "APT::Architecture": ARCH,
            "APT::Architectures": ARCH,
            "APT::Install-Recommends": "false",
            "APT::Install-Suggests": "false",
            "APT::Get::AllowUnauthenticated": "false",
            "Acquire::Languages": "none",
            "Acquire::Retries": "1",
            "Acquire::http::Timeout": "30",
            "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled": "false",
            "Binary::apt-get::Acquire::AllowInsecureRepositories": "false",
            # the lists and archives belong to whoever runs apt; no _apt user
            "APT::Sandbox::User": "nobody" if self.as_nobody else
                                  _user_name(),
        }
        with open(self.conf, "w", encoding="utf-8") as f:
            for key, val in options.items():
                f.write('%s "%s";\n' % (key, val))
        os.chmod(self.conf, 0o644)
        if self.as_nobody:      # apt locks its frontend beside the status file
            for dirpath, dirnames, filenames in os.walk(self.dir):
                for name in [dirpath] + [os.path.join(dirpath, n)
                                         for n in dirnames + filenames]:
                    os.lchown(name, NOBODY, NOBODY)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.private:
            shutil.rmtree(self.private, ignore_errors=True)

    def apt(self, argv, what, check=True):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "APT_CONFIG": self.conf,
               "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"}
        if self.as_nobody:
            argv = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                    "--clear-groups", "--"] + argv
        return run_tool(argv, what, env=env, check=check)

    def write_status(self, stanzas):
        with open(self.status, "w", encoding="utf-8") as f:
            for st in stanzas:
                f.write("".join("%s: %s\n" % kv for kv in st) + "\n")
        os.chmod(self.status, 0o644)

    def update(self, retry=True):
        """Fetch and verify the indices (If-Modified-Since: cheap when warm).
        apt keeps an index the server calls unchanged without checking it
        again: one that fails pin_lists's check is removed and fetched anew."""
        proc = self.apt(["apt-get", "-q", "update", "--error-on=any"],
                        "apt-get update", check=False)
        if proc.returncode == 0:
            try:
                self.pin_lists()
            except ListMismatch as exc:
                if not retry:
                    raise BuildError(exc.args[0]) from exc
                log("warning: %s; fetching it again" % exc.args[0])
                for path in exc.args[1]:
                    if os.path.lexists(path):
                        os.unlink(path)
                shutil.rmtree(os.path.join(self.private, "lists"))
                self.update(retry=False)
            return
        err = proc.stderr.decode(errors="replace")
        m = re.search(r"^E: Failed to fetch (\S+)\s+(.*)$", err, re.M)
        if m:
            reason = m.group(2).strip() or "failed"
            if re.search(r"connect|resolv|Temporary failure|timed out|Connection",
                         reason, re.I):
                raise BuildError("archive unreachable: %s: %s" % (m.group(1), reason))
            raise BuildError("cannot download %s: %s" % (m.group(1), reason))
        m = re.search(r"^[EW]: (.*(?:signature|NO_PUBKEY|not signed|Release).*)$",
                      err, re.M)
        if m:
            raise BuildError("signature check of the archive failed: %s"
                             % m.group(1).strip())
        last = [l for l in err.splitlines() if l.startswith("E: ")]
        raise BuildError("apt-get update: %s" % (last[0][3:] if last else
                                                 "exit status %d" % proc.returncode))

    def pin_lists(self):
        """Building as root: copy the indices apt fetched into the private
        directory, check the copies again (InRelease against the keyring,
        each Packages file against its SHA256 there) and have apt resolve
        and download from them."""
        if not self.private:
            return
        dest = os.path.join(self.private, "lists")
        os.makedirs(dest)
        for uri, suite, comps in self.sources:
            base = list_name(uri) + "_dists_" + suite.replace("/", "_")
            inrel = os.path.join(dest, base + "_InRelease")
            self._copy(os.path.join(self.lists, base + "_InRelease"), inrel)
            self.apt(["gpgv", "--keyring", self.keyring, inrel],
                     "signature check of %s %s" % (uri, suite))
            with open(inrel, encoding="utf-8", errors="replace") as f:
                text = f.read()
            sums = {}
            section = None
            for line in text.splitlines():
                if not line.startswith(" "):
                    section = line.rstrip(":")
                elif section == "SHA256":
                    parts = line.split()
                    if len(parts) == 3:
                        sums[parts[2]] = parts[0]
            for comp in comps:
                rel = "%s/binary-%s/Packages" % (comp, ARCH)
                local = os.path.join(dest, base + "_" + rel.replace("/", "_"))
                self._copy(os.path.join(self.lists, os.path.basename(local)), local)
                if rel not in sums or sha256_file(local) != sums[rel]:
                    raise ListMismatch(
                        "%s %s: index %s does not match its signed InRelease"
                        % (uri, suite, rel),
                        [os.path.join(self.lists, base + "_InRelease"),
                         os.path.join(self.lists, os.path.basename(local))])
        with open(self.conf, "a", encoding="utf-8") as f:
            f.write('Dir::State::lists "%s/";\n' % dest)

    @staticmethod
    def _copy(src, dest):
        if not os.path.isfile(src):
            raise BuildError("apt left no %s" % src)
        shutil.copyfile(src, dest)
        os.chmod(dest, 0o644)

    def candidates(self, names):
        """{name: [(field, value)...]} of the archive's candidate versions."""
        if not names:
            return {}
        proc = self.apt(["apt-cache", "show", "--no-all-versions"] + sorted(names),
                        "apt-cache show", check=False)
        out = {}
        for block in proc.stdout.decode(errors="replace").split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z0-9-]+): ?(.*)$", block, re.M))
            if "Package" in fields:
                out.setdefault(fields["Package"], fields)
        return out

    def exclude(self, names):
        """Make apt treat each excluded name as installed (see the header)."""
        known = self.candidates(names)
        stanzas = []
        for name in sorted(names):
            st = known.get(name)
            fields = [("Package", name), ("Status", "hold ok installed"),
                      ("Version", st["Version"] if st else FAKE_VERSION),
                      ("Architecture", st.get("Architecture", ARCH) if st else ARCH),
                      ("Maintainer", "crashcart image/build (excluded)"),
                      ("Description", "excluded from the image by !%s" % name)]
            if st and st.get("Multi-Arch"):
                fields.append(("Multi-Arch", st["Multi-Arch"]))
            if st and st.get("Provides"):
                fields.append(("Provides", st["Provides"]))
            stanzas.append(fields)
        self.write_status(stanzas)

    def resolve(self, wanted, excludes):
        """[(name, version, arch)] apt would install for `wanted`, sorted."""
        self.exclude(excludes)
        proc = self.apt(["apt-get", "-q", "-s", "install"] + list(wanted),
                        "resolving packages", check=False)
        out = proc.stdout.decode(errors="replace")
        if proc.returncode != 0:
            raise BuildError(resolve_error(out, proc.stderr.decode(errors="replace")))
        chosen = []
        for m in re.finditer(r"^Inst (\S+) \((\S+) .*\[(\S+)\]\)", out, re.M):
            chosen.append((m.group(1), m.group(2), m.group(3)))
        removed = re.findall(r"^Remv (\S+)", out, re.M)
        if removed:
            raise BuildError("resolving packages: %s would have to be removed: "
                             "something conflicts with an excluded package"
                             % ", ".join(removed))
        return sorted(chosen)

    def signed_sums(self, chosen):
        """{name: SHA256} of the chosen versions, from the signed indices."""
        proc = self.apt(["apt-cache", "show"] + ["%s=%s" % (n, v) for n, v, _a in chosen],
                        "reading the package index")
        sums = {}
        for block in proc.stdout.decode(errors="replace").split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z0-9-]+): ?(.*)$", block, re.M))
            if "Package" in fields and "SHA256" in fields:
                sums.setdefault((fields["Package"], fields["Version"]), fields["SHA256"])
        missing = [n for n, v, _a in chosen if (n, v) not in sums]
        if missing:
            raise BuildError("the index has no SHA256 for %s" % ", ".join(missing))
        return {n: sums[(n, v)] for n, v, _a in chosen}

    def download(self, chosen):
        """Download every chosen package apt has not cached yet. Returns
        {name: (path, sha256)}. apt checks a download against the signed
        index, but takes a cached file by its size alone: every cached file
        is checked here (the cache is writable by whoever runs apt)."""
        sums = self.signed_sums(chosen)
        paths = {n: os.path.join(self.debs, deb_name(n, v, a)) for n, v, a in chosen}

        def good(name):
            return os.path.exists(paths[name]) and sha256_file(paths[name]) == sums[name]
        missing = [n for n, _v, _a in chosen if not good(n)]
        for name in missing:
            if os.path.lexists(paths[name]):
                os.unlink(paths[name])
        if missing:
            proc = self.apt(["apt-get", "-q", "-y", "--download-only", "install"]
                            + ["%s=%s" % (n, v) for n, v, _a in chosen],
                            "downloading packages", check=False)
            if proc.returncode != 0:
                raise BuildError(download_error(proc.stderr.decode(errors="replace"),
                                                self.debs))
            for name in missing:
                if not good(name):
                    raise BuildError("%s: checksum mismatch after download" % paths[name])
        if self.private:            # the copies, checked again, are used
            os.makedirs(os.path.join(self.private, "debs"))
            for name in sorted(paths):
                copy = os.path.join(self.private, "debs", os.path.basename(paths[name]))
                self._copy(paths[name], copy)
                if sha256_file(copy) != sums[name]:
                    raise BuildError("%s changed in the cache while the build "
                                     "ran" % paths[name])
                paths[name] = copy
        return {n: (paths[n], sums[n]) for n, _v, _a in chosen}


def download_error(err, where):
    m = re.search(r"^E: Failed to fetch (\S+)\s+(.*)$", err, re.M)
    if m and re.search(r"connect|resolv|Temporary failure|timed out", m.group(2), re.I):
        return "archive unreachable: %s: %s" % (m.group(1), m.group(2).strip())
    if "No space left on device" in err:
        return "disk full: downloading into %s" % where
    last = [l for l in err.splitlines() if l.startswith("E: ")]
    return "downloading packages: %s" % (last[0][3:] if last else "apt-get failed")


class ListMismatch(Exception):
    """An index in the cache differs from what its InRelease signs:
    (message, [the cached files to fetch again])."""


def list_name(uri):
    """apt's file name for an archive URI in its lists directory
    (URItoFileName): no scheme, '/' as '_'."""
    rest = re.sub(r"^[a-z+]+://", "", uri).rstrip("/")
    rest = re.sub(r"^[^@/]*@", "", rest)        # user:password@
    return apt_quote_uri(rest).replace("/", "_")


def apt_quote_uri(s):
    out = []
    for ch in s:
        if ch in "\\|{}[]<>\"^~_=!@#$%^&*" or not ch.isprintable() or ch in " \x7f":
            out.append("%%%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def resolve_error(out, err):
    """apt's refusal, as one line."""
    m = re.search(r"^E: Unable to locate package (\S+)", err, re.M)
    if m:
        return "unknown package: %s" % m.group(1)
    m = re.search(r"^E: Package '([^']+)' has no installation candidate", err, re.M)
    if m:
        name = m.group(1)
        prov = re.search(r"^Package %s is a virtual package provided by:\n((?:  .*\n)+)"
                         % re.escape(name), out, re.M)
        if prov:
            names = sorted(l.split()[0] for l in prov.group(1).splitlines() if l.strip())
            return ("unknown package: %s (a virtual package, provided by %s)"
                    % (name, ", ".join(names)))
        return "unknown package: %s (no installable version)" % name
    unmet = re.findall(r"^ (\S+) : ((?:Pre-)?Depends|Conflicts|Breaks): (.*)$",
                       out, re.M)
    if unmet:
        pkg, kind, what = unmet[0]
        more = "" if len(unmet) == 1 else " (and %d more)" % (len(unmet) - 1)
        what = re.sub(r"\s+but .*$", "", what.strip())
        if kind in ("Conflicts", "Breaks"):
            return ("conflicting packages: %s %s %s%s"
                    % (pkg, "conflicts with" if kind == "Conflicts" else "breaks",
                       what, more))
        return "cannot satisfy dependency: %s %s %s%s" % (pkg, kind, what, more)
    last = [l for l in err.splitlines() if l.startswith("E: ")]
    return "resolving packages: %s" % (last[0][3:] if last else "apt-get failed")


def _user_name():
    import pwd
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
