"""The front door (/ sends you on) and the language switch: pages above sessions."""
