"""Logging: log-format rendering (logformat), syslog framing (syslog) and targets (targets)."""

from __future__ import annotations

from trio_lb.log.logformat import (
    HTTPLOG,
    HTTPLOG_CLF,
    HTTPSLOG,
    TCPLOG,
    LogFormatError,
    compile_format,
)
from trio_lb.log.record import TxnLog
from trio_lb.log.syslog import FACILITIES, FORMATS, LEVELS, facility_number, frame, level_number
from trio_lb.log.targets import Logger

__all__ = [
    "FACILITIES",
    "FORMATS",
    "HTTPLOG",
    "HTTPLOG_CLF",
    "HTTPSLOG",
    "LEVELS",
    "TCPLOG",
    "LogFormatError",
    "Logger",
    "TxnLog",
    "compile_format",
    "facility_number",
    "frame",
    "level_number",
]
