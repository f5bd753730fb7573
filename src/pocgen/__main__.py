from pocgen.cli import main

main()
