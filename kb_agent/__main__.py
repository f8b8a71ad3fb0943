from kb_agent.cli import main

main()
