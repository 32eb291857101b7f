from trellis.cli import main

main()
