"""``cfql shell``: an interactive SQL shell in the manner of pgcli.

The package is split the way pgcli and litecli are: ``app`` runs the REPL,
``completer``/``toolbar`` read the statement being typed (through ``context``,
which copes with half-typed SQL), ``keys`` decides what Enter does, ``meta``
holds the backslash commands, ``variables`` the session's ``:name`` values,
``display`` renders and pages results, and
``config``/``history`` keep state under the XDG directories. Nothing here is
imported by ``cfql exec``; start-up cost stays with the shell.
"""
