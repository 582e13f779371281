/* A progress line for long work (generate, crawl, bench): "<what>: done/total, rate/s, ETA",
 * redrawn in place on stderr at most every CLI_METER_REDRAW_MS, and only when stderr is a
 * terminal, so logs and pipes stay quiet. */
#include "cli_int.h"

#include <stdio.h>
#include <unistd.h>

enum { CLI_METER_REDRAW_MS = 200 };

void cli_meter_init(cli_meter *m, const char *what, uint64_t total)
{
    *m = (cli_meter){.what = what, .total = total, .start_ns = sp_clock_mono_ns(),
                     .tty = isatty(STDERR_FILENO) == 1};
}

void cli_meter_update(cli_meter *m, uint64_t done)
{
    if (!m->tty || m->finished) return;
    uint64_t now = sp_clock_mono_ns();
    bool last = m->total && done >= m->total;
    if (!last && m->drawn_ns && now - m->drawn_ns < (uint64_t)CLI_METER_REDRAW_MS * 1000000u) return;
    m->drawn_ns = now;
    double secs = (double)(now - m->start_ns) / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    fprintf(stderr, "\r\033[K%s: %llu", m->what, (unsigned long long)done);
    if (m->total) fprintf(stderr, "/%llu", (unsigned long long)m->total);
    fprintf(stderr, ", %.0f/s", rate);
    if (m->total && !last && rate > 0)
        fprintf(stderr, ", ETA %.0f s", (double)(m->total - done) / rate);
    else if (last)
        fprintf(stderr, ", %.1f s", secs);
    if (last) {
        fputc('\n', stderr);
        m->finished = true;
    }
    fflush(stderr);
}

void cli_meter_finish(cli_meter *m, uint64_t done)
{
    if (!m->tty || m->finished) return;
    m->total = done;
    m->drawn_ns = 0;
    cli_meter_update(m, done);
}
