from cairn.cmd.main import main

main()
