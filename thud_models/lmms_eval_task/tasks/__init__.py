"""Empty on purpose: lmms-eval's plugin loader (``LMMS_EVAL_PLUGINS``) adds ``<plugin>.tasks``
to the task search path and needs it to exist. The Thud task itself is in ``../thud``
(``LMMS_EVAL_TASK_DIR``), passed with ``--include_path``."""
