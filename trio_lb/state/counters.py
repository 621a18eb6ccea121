"""Traffic counters and event rates, with `now` passed in (no clock reads here).

The names are HAProxy's `show stat` column names so that the stats renderers can read them
straight off these objects. One class serves frontends, backends and servers; a renderer
decides which columns apply to which row.
"""

from __future__ import annotations


class RateCounter:
    """Events over the last second, as HAProxy's `freq_ctr` (a 1 s period, linear blend).

    HAProxy reports `curr + prev * (1 - elapsed_in_current_period)`; we do the same so
    that rates read like HAProxy's instead of jumping at each second boundary. `hit()` runs
    several times per request, so it only counts; the maximum is folded in when a period ends
    and when someone reads it.
    """

    __slots__ = ("_period_start", "_curr", "_prev", "_max")

    def __init__(self) -> None:
        self._period_start = 0
        self._curr = 0
        self._prev = 0
        self._max = 0

    def _rotate(self, sec: int) -> None:
        if self._curr > self._max:
            self._max = self._curr
        self._prev = self._curr if sec == self._period_start + 1 else 0
        self._curr = 0
        self._period_start = sec

    def hit(self, now: float, n: int = 1) -> None:
        sec = int(now)
        if sec != self._period_start:
            self._rotate(sec)
        self._curr += n

    def rate(self, now: float) -> int:
        sec = int(now)
        if sec != self._period_start:
            self._rotate(sec)
        remain = 1.0 - (now - sec)
        return self._curr + int(self._prev * remain)

    @property
    def max(self) -> int:
        return max(self._max, self._curr)

    @max.setter
    def max(self, value: int) -> None:
        self._max = value


class Counters:
    """Cumulative counters of one proxy side or one server (HAProxy names)."""

    __slots__ = (
        "stot", "bin", "bout", "dreq", "dresp", "dcon", "ereq", "econ", "eresp", "wretr", "wredis",
        "req_tot", "hrsp",
        "cli_abrt", "srv_abrt", "lbtot", "chkfail", "chkdown", "conn_tot", "intercepted",
        "connect", "reuse", "smax", "qmax", "sess_rate", "req_rate", "conn_rate",
        "last_sess", "qtime", "ctime", "rtime", "ttime",
    )

    def __init__(self) -> None:
        self.reset(all_=True)

    def reset(self, all_: bool = False) -> None:
        """`clear counters` resets maxima only; `clear counters all` resets everything."""
        if all_:
            for name in self.__slots__:
                setattr(self, name, 0)
            self.hrsp = [0, 0, 0, 0, 0, 0]  # 1xx 2xx 3xx 4xx 5xx other
            self.sess_rate = RateCounter()
            self.req_rate = RateCounter()
            self.conn_rate = RateCounter()
            self.last_sess = -1.0
            # moving averages of the last requests' times (ms), as HAProxy's swrate over 1024
            self.qtime = self.ctime = self.rtime = self.ttime = 0.0
        else:
            self.smax = self.qmax = 0
            self.sess_rate.max = self.req_rate.max = self.conn_rate.max = 0

    def session_opened(self, cur: int, now: float) -> None:
        """A new session on a server or backend that now has `cur` of them."""
        self.stot += 1
        self.last_sess = now
        self.sess_rate.hit(now)
        if cur > self.smax:
            self.smax = cur

    def count_status(self, status: int) -> None:
        i = status // 100 - 1
        self.hrsp[i if 0 <= i < 5 else 5] += 1

    # the show stat names of the six status classes
    hrsp_1xx = property(lambda self: self.hrsp[0])
    hrsp_2xx = property(lambda self: self.hrsp[1])
    hrsp_3xx = property(lambda self: self.hrsp[2])
    hrsp_4xx = property(lambda self: self.hrsp[3])
    hrsp_5xx = property(lambda self: self.hrsp[4])
    hrsp_other = property(lambda self: self.hrsp[5])

    def record_times(self, qtime: float, ctime: float, rtime: float, ttime: float) -> None:
        """Fold one request's times (ms) into HAProxy-style sliding averages over 1024 samples."""
        n = 1024
        self.qtime += (qtime - self.qtime) / n if self.qtime else qtime
        self.ctime += (ctime - self.ctime) / n if self.ctime else ctime
        self.rtime += (rtime - self.rtime) / n if self.rtime else rtime
        self.ttime += (ttime - self.ttime) / n if self.ttime else ttime
