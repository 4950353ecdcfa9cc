"""The kinds of second factor: `methods.Method` names them, `methods.SecondFactor` is what
each kind does. The registry that lists them is `two_factor.registry`."""
