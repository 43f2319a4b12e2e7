# bash completion for espdeck; installed as
# $(PREFIX)/share/bash-completion/completions/espdeck by `make install`.
_espdeck() {
    local cur prev cmd i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="flash write-flash read-flash erase info monitor check
        profile ports sim demo bench records write_flash read_flash
        erase_flash erase_region flash_id chip_id read_mac"
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    case $prev in
    -p|--port)
        local ports
        ports=$(ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id/* 2>/dev/null)
        COMPREPLY=($(compgen -W "$ports auto sim:esp32 sim:esp32s2 sim:esp32s3
            sim:esp32c2 sim:esp32c3 sim:esp32c6 sim:esp32h2 sim:esp32c5
            sim:esp32p4 socket:// rfc2217://" -- "$cur"))
        return ;;
    -b|--baud)
        COMPREPLY=($(compgen -W "115200 230400 460800 921600 1500000 2000000" -- "$cur"))
        return ;;
    --before)
        COMPREPLY=($(compgen -W "default-reset usb-reset no-reset no-reset-no-sync" -- "$cur"))
        return ;;
    --after)
        COMPREPLY=($(compgen -W "hard-reset soft-reset no-reset no-reset-stub watchdog-reset" -- "$cur"))
        return ;;
    --chip|-c)
        COMPREPLY=($(compgen -W "auto esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c6 esp32h2 esp32c5 esp32p4" -- "$cur"))
        return ;;
    --stub-dir|-o|--records)
        COMPREPLY=($(compgen -f -- "$cur"))
        return ;;
    esac
    if [ -z "$cmd" ]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version --port --baud" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur") $(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
        fi
        return
    fi
    local common="--port --baud --before --after --no-stub --stub-dir --json --verbose --help"
    case $cmd in
    flash)
        COMPREPLY=($(compgen -W "$common --batch --force --no-compress --monitor" -- "$cur")) ;;
    write-flash|write_flash)
        COMPREPLY=($(compgen -W "$common --chip --flash-mode --flash-freq --flash-size --force --no-compress --monitor" -- "$cur")) ;;
    read-flash|read_flash|erase|erase_flash|erase_region|info|flash_id|chip_id|read_mac)
        COMPREPLY=($(compgen -W "$common" -- "$cur")) ;;
    monitor)
        COMPREPLY=($(compgen -W "--port --baud --eol --help" -- "$cur")) ;;
    profile)
        COMPREPLY=($(compgen -W "import show dump" -- "$cur")) ;;
    esac
    if [[ $cur != -* ]]; then
        COMPREPLY+=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _espdeck espdeck
