"""Step 3, decide (pure, and never reading: nothing here imports the evidence, the records or the shell): what is
rogue (rogue), evidence -> ordered steps (planner), the undo of what the chain left behind (left_behind), the price
of what is stopped."""
