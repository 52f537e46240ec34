"""`smartinstall explain`: what each device of an inventory would receive, and why."""
