# shellcheck shell=bash
# Bash completion for crashcart(1): its options, the audit subcommands and
# their options, files where a FILE goes, and the ids and names of the
# containers `crashcart --list --json` shows where an ID goes. Needs nothing
# but bash (not the bash-completion package's helpers).

# _crashcart_containers CMD: the "id" and "name" fields of CMD --list --json,
# one a line. Only plain ones (letters, digits and . _ @ + / -): a name is
# the container's to choose, and one with quotes, escapes, control bytes or
# word breaks is never put on the operator's command line.
_crashcart_containers() {
	local json re='[{,]"(id|name)":"([A-Za-z0-9_.@+/-]+)"'
	local -A seen=() # an LXC container's id is its name: offered once
	json=$("$1" --list --json 2>/dev/null </dev/null) || return 0
	while [[ $json =~ $re ]]; do
		[[ -n ${seen[${BASH_REMATCH[2]}]:-} ]] || printf '%s\n' "${BASH_REMATCH[2]}"
		seen[${BASH_REMATCH[2]}]=1
		json=${json#*"${BASH_REMATCH[0]}"}
	done
}

# _crashcart_files -f|-d CUR, _crashcart_words WORDS CUR: COMPREPLY from compgen
# (files, directories, or words), one candidate a line (file names may hold spaces).
_crashcart_files() {
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen "$1" -- "$2")
}
_crashcart_words() {
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

_crashcart() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' prev2='' cmd=${COMP_WORDS[0]} w i
	local mode='' first='' firstidx=0 dashdash=''
	local opts='-m --mount -u --unmount --force -i --image -e --exec-via -t --tty -T --no-tty
		-v --verbose --list --json --check-policy -V --version -h --help'
	COMPREPLY=()
	((COMP_CWORD >= 1)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	((COMP_CWORD >= 2)) && prev2=${COMP_WORDS[COMP_CWORD - 2]}
	# "--opt=VALUE": bash splits it at "=" (COMP_WORDBREAKS) into three words
	if [[ $cur == = ]]; then
		prev2=$prev prev='=' cur=
	fi
	[[ $prev == = ]] && prev=$prev2
	command -v -- "$cmd" >/dev/null 2>&1 || cmd=crashcart

	# the options before the cursor, up to the first non-option (getopt's
	# "+": options end there)
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -z $dashdash ]]; then
			case $w in
			--) dashdash=1; continue ;;
			-i | --image | -[!-]*i)
				[[ ${COMP_WORDS[i + 1]:-} == = ]] && ((i++))
				((i++))
				continue ;;
			-m | --mount | -u | --unmount | -[!-]*[mu]*) mode=mount ;;
			--list) mode=list ;;
			--check-policy) mode=check ;;
			-*) ;;
			*) first=$w firstidx=$i; break ;;
			esac
			continue
		fi
		first=$w firstidx=$i
		break
	done

	if [[ -z $first ]]; then
		case $prev in
		-i | --image | -[!-]*i)
			[[ -z $dashdash ]] && { _crashcart_files -f "$cur"; return 0; } ;;
		esac
		if [[ -z $dashdash && $cur == -* ]]; then
			_crashcart_words "$opts" "$cur"
		elif [[ $mode == check ]]; then
			_crashcart_files -f "$cur"
		elif [[ $mode == list ]]; then
			:
		elif [[ -z $mode && -z $dashdash ]]; then
			_crashcart_words "audit $(_crashcart_containers "$cmd")" "$cur"
		else
			_crashcart_words "$(_crashcart_containers "$cmd")" "$cur"
		fi
		return 0
	fi

	# after the ID: the command and its arguments run in the container,
	# whose files are not the host's
	[[ $first == audit && -z $mode && -z $dashdash ]] || return 0

	if ((COMP_CWORD == firstidx + 1)); then
		_crashcart_words 'verify show replay link' "$cur"
		return 0
	fi
	local sub=${COMP_WORDS[firstidx + 1]} subopts given='' only_pos=''
	case $sub in
	verify | show) subopts='--sessions' ;;
	replay) subopts='--speed --commands --log --force --sessions' ;;
	link) subopts='--log' ;;
	*) return 0 ;;
	esac
	# the one positional argument: given already?
	for ((i = firstidx + 2; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ -n $only_pos ]]; then given=1; continue; fi
		case $w in
		--) only_pos=1 ;;
		--sessions | --log | --speed)
			[[ ${COMP_WORDS[i + 1]:-} == = ]] && ((i++))
			((i++)) ;;
		-*) ;;
		*) given=1 ;;
		esac
	done
	if [[ -z $only_pos ]]; then
		case $prev in
		--sessions) _crashcart_files -d "$cur"; return 0 ;;
		--log) _crashcart_files -f "$cur"; return 0 ;;
		--speed) return 0 ;;
		esac
		if [[ $cur == -* ]]; then
			_crashcart_words "$subopts" "$cur"
			return 0
		fi
	fi
	# FILE (show), ROTATED (link) or SESSION (replay: an id or a .cast
	# file); verify takes any number of FILEs (a rotated log)
	[[ -z $given || $sub == verify ]] && _crashcart_files -f "$cur"
	return 0
}
complete -F _crashcart crashcart
