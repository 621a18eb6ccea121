"""CLI command modules. Each registers its rows with `trio_lb.admin.registry.command` when
imported; `registry.default_registry()` imports every module of this package, so a new module
needs no registration anywhere else."""
