try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line loads: exit 130, no traceback
    import sys

    sys.stderr.write("postenroll-sim: interrupted\n")
    raise SystemExit(130) from None

main()
