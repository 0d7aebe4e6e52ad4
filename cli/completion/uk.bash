# bash completion for uk: commands and options come from uk's own --help (the same tables that
# print it), instances and images from the daemon; installed as
# share/bash-completion/completions/uk.
_uk() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd='' sub='' i w
	local -a globals=(-H --host)
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-H | --host | --tlscacert | --tlscert | --tlskey | --format)
			[[ -z $cmd ]] && globals+=("$w" "${COMP_WORDS[i + 1]}") && ((i++))
			;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then
				cmd=$w
			elif [[ -z $sub && $cmd =~ ^(container|image|system)$ ]]; then
				sub=$w
			fi
			;;
		esac
	done
	# only -H/--host of the global options matter to the daemon questions below
	local -a uk=(uk)
	for ((i = 0; i + 1 < ${#globals[@]}; i += 2)); do
		[[ ${globals[i]} == -H || ${globals[i]} == --host ]] && uk+=(-H "${globals[i + 1]}")
	done
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(uk --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(uk --help 2>/dev/null | awk '/^Commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }')" -- "$cur")
		fi
		return
	fi
	if [[ $cmd =~ ^(container|image|system)$ && -z $sub ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(uk "$cmd" --help 2>/dev/null | sed -n 's/^Subcommands://p')" -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(uk $cmd $sub --help 2>/dev/null | grep -oE -- '(^| )--?[a-zA-Z][a-z-]*' | tr -d ' ' | sort -u)" -- "$cur")
		return
	fi
	case ${sub:-$cmd} in
	start | stop | kill | restart | wait | rm | logs | inspect | port | rename | stats | top)
		mapfile -t COMPREPLY < <(compgen -W "$("${uk[@]}" ps -a --format '{{.Names}}' 2>/dev/null)" -- "$cur")
		;;
	run | create | rmi | tag | save | push | ls)
		mapfile -t COMPREPLY < <(compgen -W "$("${uk[@]}" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null)" -- "$cur")
		;;
	build)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		;;
	load)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
}
complete -F _uk uk
