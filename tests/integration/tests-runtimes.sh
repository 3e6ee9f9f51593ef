# shellcheck shell=bash
# Real container runtimes (sourced by tests.sh): for each runtime that runs
# on this machine, start a container from the minimal root (static sleeper;
# LXC's busybox template where the runtime wants an init), then, as the
# non-root operator, resolve it by every form the resolver accepts for that
# runtime (full id, unique prefix, name, runtime:// prefix), run a command in
# it, -m / a command / -u, and check that nothing is left once the runtime
# is cleaned up. A runtime that cannot be installed or started here is a
# SKIP with the reason. Daemons run with private state under the test's
# directory and private sockets, and are stopped by PID.
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2034  # TESTS is read by run.sh
# shellcheck disable=SC2016  # single quotes for later eval are meant

# shellcheck source=runtimes-lib.sh
. "$CC_IT_DIR/runtimes-lib.sh"

TESTS+=(
	t_runtime_runc
	t_runtime_crun
	t_runtime_containerd
	t_runtime_docker
	t_runtime_podman
	t_runtime_lxc
	t_runtime_nspawn
	t_runtime_lxc_userns
	t_runtime_podman_userns_auto
	t_runtime_podman_rootless
)

# ------------------------------------------------------------------ OCI

# oci_start RT NAME CGPATH: a detached runc/crun container from the minimal
# root with cgroupsPath CGPATH; sets PID. crun runs in a private mount
# namespace without /sys/fs/cgroup/unified (RUNTIMES.md: crun 1.8 refuses
# the hybrid layout otherwise).
oci_rt() {
	local rt=$1
	shift
	if [ "$rt" = crun ]; then
		timeout -k 5 30 unshare -m --propagation private \
			sh -c 'umount /sys/fs/cgroup/unified && exec crun "$@"' crun --root "$OCI_STATE" "$@"
	else
		timeout -k 5 30 runc --root "$OCI_STATE" "$@"
	fi
}
oci_start() {
	local rt=$1 name=$2 cg=$3 b
	b=$(rt_dir "$rt-bundle")
	rt_rootfs "$b/rootfs" || fail "cannot make the root"
	(cd "$b" && "$rt" spec && mv config.json config.json.orig) || fail "$rt spec failed"
	jq --arg id "$name" --arg cg "$cg" \
		'.process.terminal=false | .process.args=["/sleeper"] | .hostname=$id | .linux.cgroupsPath=$cg' \
		"$b/config.json.orig" > "$b/config.json" || fail "jq"
	rt_defer "oci_rt $rt delete -f $name"
	# detached: the container keeps our stdio, so never a pipe anyone waits on
	if ! oci_rt "$rt" run -d --bundle "$b" "$name" </dev/null >"$b/log" 2>&1; then
		skip "$rt cannot start a container here: $(tr '\n' ' ' < "$b/log" | cut -c1-300)"
	fi
	PID=$(oci_rt "$rt" state "$name" </dev/null 2>>"$b/log" | jq -r .pid)
	case $PID in '' | null | 0 | *[!0-9]*) fail "$rt state gave no pid: $(cat "$b/log")" ;; esac
	log "# $rt container $name: PID $PID"
}

oci_case() {
	local rt=$1 name=ccit-$1 pid cg
	rt_begin
	rt_need "$rt" jq
	OCI_STATE=$(rt_dir "$rt-state")
	cg=/$CG_PARENT/$name
	rt_cg_track "$CG_PARENT/$name"
	oci_start "$rt" "$name" "$cg"
	pid=$PID
	# cgroupfs with a plain cgroupsPath: the cgroup is named like the id
	# but not like the runtime, so the id is matched exactly (no prefix)
	rt_resolves "$pid" "$pid" "$name"
	rt_resolves "$name" "$pid" "$name"
	rt_resolves "$rt://$name" "$pid" "$name"
	rt_unresolved "${name%?}"
	rt_session "$rt://$name" "$pid"
	note "$rt: resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$CC_TT" "$pid"
	for g in /sys/fs/cgroup/*/"$CG_PARENT/$name"; do
		[ -d "$g" ] && fail "cgroup $g left"
	done
	return 0
}

t_runtime_runc() { oci_case runc; }

t_runtime_crun() {
	[ -e /sys/fs/cgroup/unified/cgroup.controllers ] || [ ! -e /sys/fs/cgroup/cgroup.controllers ] ||
		note "pure cgroup v2 host: crun runs without the workaround would be expected"
	oci_case crun
}

# ------------------------------------------------------------------ containerd

t_runtime_containerd() {
	local d sock ns=ccit name=ccit-ctr pid shim
	rt_begin
	rt_need containerd ctr containerd-shim-runc-v2 runc
	d=$(rt_dir containerd)
	sock=$d/containerd.sock
	cat > "$d/config.toml" <<-EOF
	version = 2
	root = "$d/root"
	state = "$d/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$sock"
	[ttrpc]
	  address = "$sock.ttrpc"
	EOF
	rt_track /run/containerd
	rt_cg_track "$ns"
	rt_daemon containerd "$d/containerd.log" containerd --config "$d/config.toml"
	ctr_() { timeout -k 5 30 ctr -a "$sock" -n "$ns" "$@" </dev/null; }
	wait_until 30 ctr_ version >/dev/null 2>&1 ||
		skip "containerd did not start: $(tail -n 3 "$d/containerd.log" | tr '\n' ' ' | cut -c1-300)"
	rt_rootfs "$d/rootfs"
	rt_defer "ctr_ container rm $name"
	rt_defer "ctr_ task rm -f $name"
	rt_defer "ctr_ task kill -s SIGKILL $name; sleep 0.5"
	ctr_ run -d --null-io --rootfs "$d/rootfs" "$name" /sleeper >"$d/run.log" 2>&1 ||
		fail "ctr run failed: $(cat "$d/run.log")"
	pid=$(ctr_ task ls | awk -v n="$name" '$1 == n {print $2}')
	case $pid in '' | *[!0-9]*) fail "no pid from ctr task ls" ;; esac
	shim=$(awk '{print $4}' "/proc/$pid/stat")
	log "# containerd task $ns/$name: PID $pid, shim $shim; $(grep pids /proc/"$pid"/cgroup)"
	# ctr sets no hostname: the container's UTS namespace has the host's
	local h
	h=$(hostname)
	rt_resolves "$pid" "$pid" "$h"
	rt_resolves "$name" "$pid" "$h"
	rt_resolves "${name%?}" "$pid" "$h"
	rt_resolves "containerd://$name" "$pid" "$h"
	rt_resolves "$ns/$name" "$pid" "$h"
	rt_resolves "containerd://$ns/$name" "$pid" "$h"
	rt_unresolved "containerd://other/$name"
	rt_session "containerd://$ns/$name" "$pid"
	note "containerd: resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$d" "$pid" "$shim" "$DPID"
	[ -e "/sys/fs/cgroup/pids/$ns/$name" ] && fail "cgroup $ns/$name left"
	return 0
}

# ------------------------------------------------------------------ Docker

t_runtime_docker() {
	local d sock name=ccit-web id pid h
	rt_begin
	rt_need /usr/bin/docker dockerd containerd runc
	d=$(rt_dir docker)
	sock=$d/docker.sock
	rt_track /etc/docker/key.json /run/docker /run/containerd
	rt_cg_track docker
	rt_daemon dockerd "$d/dockerd.log" dockerd --iptables=false --ip-masq=false --bridge=none \
		--storage-driver=overlay2 -H "unix://$sock" --group "$OPS_GROUP" \
		--data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid"
	dk() { timeout -k 5 60 /usr/bin/docker -H "unix://$sock" "$@" </dev/null; }
	wait_until 45 dk version >/dev/null 2>&1 ||
		skip "dockerd did not start: $(tail -n 3 "$d/dockerd.log" | tr '\n' ' ' | cut -c1-300)"
	{ rt_rootfs "$d/rootfs" && tar -C "$d/rootfs" -cf "$d/rootfs.tar" .; } || fail "rootfs tar"
	rt_defer "dk rmi -f ccit-sleeper:latest"
	dk import "$d/rootfs.tar" ccit-sleeper:latest >"$d/import.log" 2>&1 || fail "docker import: $(cat "$d/import.log")"
	rt_defer "dk rm -f $name"
	id=$(dk run -d --name "$name" --hostname "$name" --network none ccit-sleeper:latest /sleeper 2>"$d/run.err") ||
		fail "docker run: $(cat "$d/run.err")"
	pid=$(dk inspect -f '{{.State.Pid}}' "$name")
	log "# docker container $name: id $id, PID $pid; $(grep pids /proc/"$pid"/cgroup)"
	local DH=DOCKER_HOST=unix://$sock
	rt_resolves "$pid" "$pid" "$name"
	rt_resolves "$id" "$pid" "$name"
	rt_resolves "${id:0:12}" "$pid" "$name"
	rt_resolves "docker://${id:0:6}" "$pid" "$name"
	# names: through the Engine API on the private socket (group ccops)
	rt_resolves "docker://$name" "$pid" "$name" "$DH"
	rt_resolves "$name" "$pid" "$name" "$DH"
	rt_resolves "/$name" "$pid" "$name" "$DH"
	# without a reachable socket a name is not found, and says why
	rt_unresolved "docker://$name" DOCKER_HOST=unix:///nonexistent/docker.sock
	case $ERR in *"/nonexistent/docker.sock"*) ;; *) fail "the error does not name the socket: $ERR" ;; esac
	rt_unresolved "docker://no-such-$name" "$DH"
	case $ERR in *"no such container"*) ;; *) fail "the error does not say 'no such container': $ERR" ;; esac
	# a bare name says the same in its first message: what Docker needed
	rt_unresolved "$name" DOCKER_HOST=unix:///nonexistent/docker.sock
	case $ERR in
	"crashcart: cannot resolve '$name': no container '$name' (searched: docker, podman,"*"; Docker API: cannot use /nonexistent/docker.sock: No such file or directory"*"; podman: "*) ;;
	*) fail "a bare name without the Docker socket does not say what Docker needed: $ERR" ;;
	esac
	# an operator who may not use the socket gets no name either, and is
	# told why. (ccother, outside ccops, would fail earlier: it cannot start
	# the broker.) The socket is root:ccops 0660: its group goes for a moment.
	chgrp root "$sock" || fail "chgrp $sock"
	run as_op env "$DH" "$CC_BIN" -i "$IMG_EXT4" "docker://$name" "$BB" true
	local rc_name=$RC err_name=$ERR
	# -e by id resolves (cgroups), then needs the operator's own access
	run as_op env "$DH" "$CC_BIN" -e -i "$IMG_EXT4" "$id" "$BB" true
	chgrp "$OPS_GROUP" "$sock" || fail "chgrp $sock back"
	expect_rc 125 "-e for an operator who may not use the socket"
	expect_one_error_line
	case $ERR in *"-e needs your own access to the Docker daemon ($sock: Permission denied)"*) ;;
		*) fail "-e without access to the socket says '$ERR'" ;; esac
	RC=$rc_name ERR=$err_name
	expect_rc 125 "docker://$name for an operator who may not use the socket"
	expect_one_error_line
	case $ERR in *"$sock"*"Permission denied"*) ;; *) fail "the error does not say the socket refused: '$ERR'" ;; esac
	rt_session "docker://$name" "$pid" "$DH"
	# the ptrace profile in a real Docker container: refused with Docker's
	# default set (CAP_MKNOD: SECURITY.md); with --cap-drop MKNOD, its own
	# /proc, with Docker's read-only binds (/proc/sys...) and masks, is no
	# foreign procfs
	rt_defer pol_restore
	prof_policy ptrace
	run as_op "$CC_BIN" -i "$IMG_EXT4" "$id" "$BB" true
	expect_rc 125 "the ptrace profile in a docker container with Docker's default capabilities"
	case $ERR in *"can make device nodes (CAP_MKNOD"*"--cap-drop MKNOD"*) ;; *) fail "the refusal does not say why: $ERR" ;; esac
	rt_defer "dk rm -f $name-nomknod"
	dk run -d --name "$name-nomknod" --cap-drop MKNOD --network none ccit-sleeper:latest /sleeper >/dev/null 2>"$d/run.err" ||
		fail "docker run --cap-drop MKNOD: $(cat "$d/run.err")"
	run as_op "$CC_BIN" -i "$IMG_EXT4" "$(dk inspect -f '{{.Id}}' "$name-nomknod")" "$BB" grep -E '^(Uid|CapEff)' /proc/self/status
	expect_rc 0 "the ptrace profile in a docker container run with --cap-drop MKNOD"
	printf '%s\n' "$OUT" | grep -q '^CapEff:[[:space:]]*0000000000080000$' || fail "the ptrace tool's capabilities: $OUT"
	dk rm -f "$name-nomknod" >/dev/null 2>&1
	pol_restore
	# --list sees it, unprivileged, and says whether the image is mounted
	run as_op "$CC_BIN" -i "$IMG_EXT4" -m "$id"
	expect_rc 0 "-m by id"
	run as_op "$CC_BIN" --list --json
	expect_rc 0 "--list --json"
	printf '%s' "$OUT" | jq -e --arg id "$id" --argjson pid "$pid" \
		'.containers[] | select(.id == $id and .runtime == "docker" and .pid == $pid and .mounted == true)' >/dev/null ||
		fail "--list --json does not show docker $id (PID $pid) as mounted: $OUT"
	run as_op "$CC_BIN" --list
	printf '%s' "$OUT" | grep -q "docker.*${id:0:12}" || fail "--list table lacks ${id:0:12}: $OUT"
	# with the socket readable, --list names it (NAME was '-')
	run as_op env "$DH" "$CC_BIN" --list
	printf '%s' "$OUT" | grep -Eq "^docker +${id:0:12} +$name +$pid +yes$" || fail "--list with the socket does not name $name: $OUT"
	run as_op env "$DH" "$CC_BIN" --list --json
	printf '%s' "$OUT" | jq -e --arg id "$id" --arg name "$name" '.containers[] | select(.id == $id and .name == $name)' >/dev/null ||
		fail "--list --json with the socket does not name $name: $OUT"
	run as_op "$CC_BIN" -u "$id"
	expect_rc 0 "-u by id"
	# -e: through docker exec, with the operator's own access to the socket
	# (group ccops); the image is mounted around it and gone after
	audit_mark
	run as_op env PATH=/usr/bin:/bin "$DH" "$CC_BIN" -e -i "$IMG_EXT4" "$name" "$BB" hostname
	expect_rc 0 "-e through docker exec: $ERR"
	[ "$OUT" = "$name" ] || fail "-e ran somewhere else: hostname '$OUT'"
	expect_nothing_mounted "$pid" "$IMG_EXT4"
	recs=$(audit_new)
	printf '%s\n' "$recs" | jq -se 'any(.event == "exec-via" and .phase == "begin" and (.argv[0] == "docker"))
		and any(.event == "exec-via" and .phase == "end" and .exit.value == 0)' >/dev/null ||
		fail "no exec-via begin/end records: $recs"
	# and without access to the socket, -e says so
	run as_op env PATH=/usr/bin:/bin DOCKER_HOST=unix:///nonexistent.sock "$CC_BIN" -e -i "$IMG_EXT4" "$id" "$BB" true
	expect_rc 125 "-e without socket access"
	case $ERR in *"access to the Docker daemon"*) ;; *) fail "-e without access does not say so: $ERR" ;; esac
	note "docker: resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$d" "$pid" "$DPID"
	[ -e "/sys/fs/cgroup/pids/docker/$id" ] && fail "cgroup docker/$id left"
	return 0
}

# ------------------------------------------------------------------ podman

# pm_conf DIR RUNROOT: podman's private storage and state under DIR
# (DIR/storage.conf, DIR/containers.conf), its runroot RUNROOT
pm_conf() {
	cat > "$1/storage.conf" <<-EOF
	[storage]
	driver = "overlay"
	graphroot = "$1/storage"
	runroot = "$2"
	EOF
	cat > "$1/containers.conf" <<-EOF
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$1/events.log"
	runtime = "runc"
	tmp_dir = "$1/tmp"
	EOF
}

t_runtime_podman() {
	local d name=ccit-pm id pid psock gid
	rt_begin
	rt_need podman conmon runc
	d=$(rt_dir podman)
	mkdir -p "$d/tmp" && chmod 700 "$d/tmp"
	# private storage and state, for podman here and for the resolver's
	# own `podman container inspect` (it inherits these variables)
	pm_conf "$d" "$d/run"
	export CONTAINERS_STORAGE_CONF=$d/storage.conf CONTAINERS_CONF=$d/containers.conf
	pm() { timeout -k 5 60 podman "$@" </dev/null; }
	rt_cg_track libpod_parent
	rt_track /var/lib/containers /run/containers /run/libpod /run/runc /etc/cni/net.d/cni.lock
	{ rt_rootfs "$d/rootfs" && tar -C "$d/rootfs" -cf "$d/rootfs.tar" .; } || fail "rootfs tar"
	rt_defer "rt_umount_under '$d'"
	rt_defer "pm rmi -f localhost/ccit-sleeper:latest"
	pm import "$d/rootfs.tar" localhost/ccit-sleeper:latest >"$d/import.log" 2>&1 ||
		skip "podman cannot import an image here: $(tail -n 2 "$d/import.log" | tr '\n' ' ')"
	rt_defer "pm rm -f -t 0 $name"
	id=$(pm run -d --name "$name" --hostname "$name" --network none --ulimit nofile=1024:1024 \
		--ulimit nproc=4096:4096 localhost/ccit-sleeper:latest /sleeper 2>"$d/run.err") ||
		skip "podman cannot run a container here: $(tail -n 2 "$d/run.err" | tr '\n' ' ' | cut -c1-300)"
	pid=$(pm inspect -f '{{.State.Pid}}' "$name")
	log "# podman container $name: id $id, PID $pid; $(grep pids /proc/"$pid"/cgroup)"
	rt_resolves "$pid" "$pid" "$name"
	rt_resolves "$id" "$pid" "$name"
	rt_resolves "${id:0:12}" "$pid" "$name"
	rt_resolves "podman://${id:0:6}" "$pid" "$name"
	# names through podman's API service on a private socket (group ccops)
	psock=$d/podman.sock
	rt_daemon "podman system service" "$d/service.log" podman system service --time=0 "unix://$psock"
	wait_until 20 test -S "$psock" || fail "podman system service made no socket: $(tail -n 3 "$d/service.log")"
	{ chgrp "$OPS_GROUP" "$psock" && chmod 660 "$psock"; } || fail "chgrp/chmod $psock"
	local CH=CONTAINER_HOST=unix://$psock
	rt_resolves "podman://$name" "$pid" "$name" "$CH"
	rt_resolves "$name" "$pid" "$name" "$CH"
	rt_unresolved "podman://no-such-$name" "$CH"
	case $ERR in *"no such container"*) ;; *) fail "the error does not say 'no such container': $ERR" ;; esac
	rt_session "podman://$name" "$pid" "$CH"
	# names through `podman container inspect` run by the resolver: the
	# storage is root's here, so as root (with the operators' group, which
	# the policy asks for)
	gid=$(getent group "$OPS_GROUP" | cut -d: -f3)
	run as_root setpriv --groups="$gid" -- "$CC_BIN" -v -i "$IMG_EXT4" "podman://$name" "$BB" hostname
	if [ "$RC" = 0 ]; then
		expect_out "$name"
		printf '%s\n' "$ERR" | grep -Eq "^crashcart: target .* PID $pid\$" ||
			fail "podman://$name (podman CLI) did not resolve to PID $pid: $ERR"
		RT_FORMS="$RT_FORMS, podman://$name (as root, podman CLI)"
	else
		case $ERR in
		*"no container"*) fail "podman://$name through the podman CLI as root: $ERR" ;;
		*) note "podman CLI path not exercised: root is refused by the broker here: $ERR" ;;
		esac
	fi
	# an operator with no socket and no podman storage of their own (the
	# storage is root's): named through conmon's world-readable cmdline
	rt_resolves "podman://$name" "$pid" "$name"
	rt_resolves "$name" "$pid" "$name"
	run as_op "$CC_BIN" --list --json
	printf '%s' "$OUT" | jq -e --arg id "$id" --arg name "$name" '.containers[] | select(.id == $id and .runtime == "podman" and .name == $name)' >/dev/null ||
		fail "--list --json does not name podman $name: $OUT"
	# and a name no conmon has: one line saying what each way lacked
	rt_unresolved "podman://no-such-$name"
	case $ERR in *"podman: no API socket"*"; conmon: none of the "*" running podman container"*" has this name; "*) ;;
	*) fail "podman://no-such-$name does not say what was missing: $ERR" ;;
	esac
	note "podman: resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$d" "$pid"
	[ -e "/sys/fs/cgroup/pids/libpod_parent/libpod-$id" ] && fail "cgroup libpod-$id left"
	return 0
}

# ------------------------------------------------------------------ LXC

t_runtime_lxc() { lxc_case ccit-lxc; }

# An unprivileged LXC container: lxc.idmap maps its root to host uid
# 100000 (root's subordinate ids, newuidmap); the busybox template makes
# the root file system owned by those ids.
t_runtime_lxc_userns() { lxc_case ccit-lxcu userns; }

lxc_case() {
	local d name=$1 userns=${2:-} pid
	rt_begin
	rt_need lxc-create lxc-start lxc-info lxc-stop lxc-destroy
	[ -x /bin/busybox ] || rt_need busybox
	[ -z "$userns" ] || rt_need newuidmap newgidmap
	d=$(rt_dir "lxc$userns")
	rt_track /run/lxc
	rt_cg_track lxc.pivot
	mkdir -p "$d/path" && chmod 755 "$d/path"
	printf 'lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n' > "$d/default.conf"
	if [ -n "$userns" ]; then
		rt_subids root:100000:65536
		printf 'lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n' >> "$d/default.conf"
	fi
	lx() { timeout -k 5 30 "$@" -P "$d/path" -n "$name" </dev/null; }
	rt_defer "lx lxc-destroy -f"
	lx lxc-create -t busybox -f "$d/default.conf" >"$d/create.log" 2>&1 ||
		skip "lxc-create -t busybox failed: $(tail -n 3 "$d/create.log" | tr '\n' ' ' | cut -c1-300)"
	rt_defer "lx lxc-stop -k"
	lx lxc-start -d -l INFO -o "$d/lxc.log" ||
		skip "lxc-start failed: $(grep -E 'ERROR' "$d/lxc.log" | tail -n 3 | tr '\n' ' ' | cut -c1-300)"
	lx lxc-wait -s RUNNING -t 15 || fail "LXC container $name did not reach RUNNING"
	pid=$(lx lxc-info -p -H)
	case $pid in '' | *[!0-9]*) fail "no pid from lxc-info" ;; esac
	log "# LXC container $name: PID $pid; $(grep pids /proc/"$pid"/cgroup)"
	rt_resolves "$pid" "$pid" "$name"
	rt_resolves "lxc://$name" "$pid" "$name"
	rt_resolves "$name" "$pid" "$name"
	# LXC names are exact: no prefix
	rt_unresolved "lxc://${name%?}"
	if [ -n "$userns" ]; then
		rt_userns_session "lxc://$name" "$pid"
	else
		rt_session "lxc://$name" "$pid"
	fi
	note "lxc${userns:+ (user namespace)}: resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$d" "$pid"
	[ -e "/sys/fs/cgroup/pids/lxc.payload.$name" ] && fail "cgroup lxc.payload.$name left"
	return 0
}

# ------------------------------------------------------------------ nspawn

# Without systemd as PID 1 (no machined), nspawn needs --register=no
# --keep-unit and stays in its caller's cgroup, putting the container in
# <cgroup>/payload. The launcher is placed in /crashcart-it/machine-NAME.scope
# first: the layout machined gives (machine.slice/machine-NAME.scope/payload).
t_runtime_nspawn() {
	local d name=ccit-ns pid npid g cgs=() i
	rt_begin
	rt_need systemd-nspawn
	d=$(rt_dir nspawn)
	{ rt_rootfs "$d/rootfs" && mkdir -p "$d/rootfs/usr/lib" && : > "$d/rootfs/etc/os-release"; } || fail "rootfs"
	for g in $(cg_dirs "machine-$name.scope"); do cgs+=("$g"); done
	rt_defer "for g in ${cgs[*]}; do rt_cg_rmdir_tree \$g; done"
	for g in "${cgs[@]}"; do mkdir -p "$g" || fail "mkdir $g"; done
	rt_track /run/systemd/nspawn /run/systemd
	rt_defer "rm -rf /run/systemd/nspawn/propagate/$name"
	# shellcheck disable=SC2016
	rt_daemon systemd-nspawn "$d/nspawn.log" bash -c 'for g in "${@:3}"; do echo $$ > "$g/cgroup.procs" || exit 1; done
		exec systemd-nspawn -q --register=no --keep-unit --console=read-only --private-network \
			-M "$1" -D "$2" /sleeper' nspawn "$name" "$d/rootfs" "${cgs[@]}"
	npid=$DPID
	pid=
	for i in $(seq 200); do
		pid=$(cat /proc/"$npid"/task/*/children 2>/dev/null | awk '{print $1}' | head -n 1)
		[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleeper ] && break
		pid=
		kill -0 "$npid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$pid" ] || skip "systemd-nspawn did not start a container (i=$i): $(tail -n 3 "$d/nspawn.log" | tr '\n' ' ' | cut -c1-300)"
	log "# nspawn container $name: PID $pid; $(grep -E 'pids|name=systemd' /proc/"$pid"/cgroup | tr '\n' ' ')"
	rt_resolves "$pid" "$pid" "$name"
	rt_resolves "machine://$name" "$pid" "$name"
	rt_resolves "$name" "$pid" "$name"
	rt_unresolved "machine://${name%?}"
	rt_session "machine://$name" "$pid"
	note "systemd-nspawn: resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$d" "$pid" "$npid"
	return 0
}

# ------------------------------------------------------------------ podman, user-namespaced

# pm_userns_setup DIR: private storage and state for podman under DIR
# (as in t_runtime_podman), the sleeper image imported as USER (root when
# empty) with HOME and XDG_RUNTIME_DIR under DIR; defines pmu.
pm_userns_setup() {
	local d=$1 user=${2:-}
	PMU_USER=$user
	{ mkdir -p "$d/home" "$d/run" "$d/tmp" && chmod 700 "$d/run" "$d/tmp"; } || fail "mkdir"
	if [ -n "$user" ]; then
		chown "$user:$user" "$d/home" "$d/run" "$d/tmp" || fail "chown"
		# what rootless podman leaves outside HOME and XDG_RUNTIME_DIR: its
		# pause process (holds the user namespace) and two /tmp directories
		rt_track "/tmp/containers-user-$(id -u "$user")" "/tmp/podman-run-$(id -u "$user")"
		rt_defer "pmu_kill_pause '$d'"
	else
		pm_conf "$d" "$d/runroot" # ($d/run: XDG_RUNTIME_DIR, rootless only)
	fi
	PMU_DIR=$d
	{ rt_rootfs "$d/rootfs" && tar -C "$d/rootfs" -cf "$d/rootfs.tar" . && chmod 644 "$d/rootfs.tar"; } || fail "rootfs tar"
	rt_defer "rt_umount_under '$d'"
	rt_defer "pmu rmi -f localhost/ccit-sleeper:latest"
	pmu import "$d/rootfs.tar" localhost/ccit-sleeper:latest >"$d/import.log" 2>&1 ||
		skip "podman cannot import an image here${user:+ as $user}: $(tail -n 2 "$d/import.log" | tr '\n' ' ')"
}
pmu_kill_pause() {
	local p
	p=$(cat "$1/run/libpod/tmp/pause.pid" 2>/dev/null) && [ -n "$p" ] && rt_kill_wait "$p" 5
	return 0
}
# pmu ARGS...: podman as PMU_USER (rootless: its own storage under HOME) or
# as root with the private storage
pmu() {
	if [ -n "$PMU_USER" ]; then
		timeout -k 5 60 setpriv --reuid="$PMU_USER" --regid="$PMU_USER" --init-groups -- env -i PATH=/usr/bin:/bin \
			HOME="$PMU_DIR/home" XDG_RUNTIME_DIR="$PMU_DIR/run" podman "$@" </dev/null
	else
		CONTAINERS_STORAGE_CONF=$PMU_DIR/storage.conf CONTAINERS_CONF=$PMU_DIR/containers.conf \
			timeout -k 5 60 podman "$@" </dev/null
	fi
}
# pmu_run NAME ARGS...: podman run -d (runc: crun refuses this host's hybrid
# cgroups; ulimits: RUNTIMES.md); sets PID and ID
pmu_run() {
	local name=$1
	shift
	rt_defer "pmu rm -f -t 0 $name"
	ID=$(pmu run -d --runtime runc --name "$name" --hostname "$name" --network none --ulimit nofile=1024:1024 \
		--ulimit nproc=4096:4096 "$@" localhost/ccit-sleeper:latest /sleeper 2>"$PMU_DIR/run.err") ||
		skip "podman run $* failed here: $(tail -n 2 "$PMU_DIR/run.err" | tr '\n' ' ' | cut -c1-300)"
	PID=$(pmu inspect -f '{{.State.Pid}}' "$name")
	case $PID in '' | 0 | *[!0-9]*) fail "no pid from podman inspect" ;; esac
	log "# podman container $name ($*): id $ID, PID $PID; $(grep pids "/proc/$PID/cgroup")"
}

# podman run --userns=auto as root: a range of the "containers" user's
# subordinate ids (/etc/subuid) per container.
t_runtime_podman_userns_auto() {
	local d name=ccit-pmu
	rt_begin
	rt_need podman conmon runc newuidmap
	d=$(rt_dir podman-userns)
	rt_subids containers:2147483647:2147483648
	rt_cg_track libpod_parent
	rt_track /var/lib/containers /run/containers /run/libpod /run/runc /etc/cni/net.d/cni.lock
	pm_userns_setup "$d"
	pmu_run "$name" --userns=auto
	rt_resolves "$PID" "$PID" "$name"
	rt_resolves "$ID" "$PID" "$name"
	rt_resolves "podman://${ID:0:12}" "$PID" "$name"
	rt_userns_session "podman://${ID:0:12}" "$PID"
	note "podman --userns=auto: resolved by $RT_FORMS"
	local pid=$PID
	rt_cleanup
	rt_nothing_left "$d" "$pid"
	return 0
}

# Rootless podman, run by a user who is not the operator (ccother, with
# subordinate ids 300000-365535): its user namespace belongs to that user.
# On this host (cgroup v1 hierarchies, no systemd) rootless podman makes
# no cgroup for the container, so it has no id in its cgroup path: it is
# reached by PID. The same container of the operator's own would be theirs:
# refused.
t_runtime_podman_rootless() {
	local d name=ccit-pmr
	rt_begin
	rt_need podman conmon runc newuidmap
	d=$(rt_dir podman-rootless)
	rt_subids "$OTHER_USER:300000:65536"
	pm_userns_setup "$d" "$OTHER_USER"
	pmu_run "$name"
	[ "$(awk 'NR == 1 {print $2}' "/proc/$PID/uid_map")" = "$(id -u "$OTHER_USER")" ] ||
		fail "the rootless container's root is not $OTHER_USER: $(cat "/proc/$PID/uid_map")"
	rt_resolves "$PID" "$PID" "$name"
	rt_userns_session "$PID" "$PID"
	local pid=$PID
	note "rootless podman (as $OTHER_USER): resolved by $RT_FORMS"
	rt_cleanup
	rt_nothing_left "$d" "$pid"
	# the operator's own rootless container is not a container to crashcart
	rt_subids "$OP_USER:400000:65536"
	d=$(rt_dir podman-rootless-op)
	pm_userns_setup "$d" "$OP_USER"
	pmu_run "$name-op"
	audit_mark
	run as_op "$CC_BIN" -i "$IMG_EXT4" -m "$PID"
	refusal "$PID" "$IMG_EXT4" "the operator's own rootless container"
	case $ERR in *"user namespace owned by you"*) ;; *) fail "the refusal does not say why: $ERR" ;; esac
	pid=$PID
	rt_cleanup
	rt_nothing_left "$d" "$pid"
	return 0
}
