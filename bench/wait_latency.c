/*
 * wait_latency: how fast a long poll wakes, and what idle waiters cost.
 *
 *   wait_latency latency  [-n WAKES] [-d MAX_DELAY_MS] [-f FUNCTION]
 *   wait_latency idle-cpu [-n WAITERS] [-s SECONDS] [-f FUNCTION]
 *
 * FUNCTION is called as FUNCTION(id uuid, timeout_s integer, since_version
 * bigint) and must return a row with a version column: by default
 * agent_sessions.wait_for_session; the bench case also passes a plain
 * PL/pgSQL polling loop as the twin.  Connection settings come from the
 * libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE).
 *
 * latency: one waiter connection waits for a session, and once its backend
 * is seen sleeping in the wait (pg_stat_activity) and a random delay of up
 * to MAX_DELAY_MS has passed, a writer connection flips the session's
 * activity with heartbeat() in its own transaction.  Both results are
 * awaited together; the wake latency is the time from the writer's
 * statement (and so its COMMIT) returning to the waiter's result arriving,
 * both stamped by this client on one clock; 0 when the waiter's result
 * arrived first (the wake-up is sent from inside the writer's commit, before
 * the writer's reply).  Prints
 *   p50_ms=... p99_ms=... max_ms=... n=... waiter_first=...
 *
 * idle-cpu: WAITERS connections wait for a session that does not change
 * (with no statistics flush due in their backends); once all sleep and a
 * polling wait has backed off to its longest interval, the CPU time their
 * backends use over SECONDS is read from /proc/<pid>/schedstat (or
 * /proc/<pid>/stat).  Prints
 *   cpu_ms_per_s=... waiters=... seconds=...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

static const char *function = "agent_sessions.wait_for_session";

static void
die(const char *what, PGconn *conn)
{
	fprintf(stderr, "wait_latency: %s: %s", what, conn ? PQerrorMessage(conn) : "\n");
	exit(1);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static PGconn *
connect_db(void)
{
	PGconn	   *conn = PQconnectdb("");

	if (PQstatus(conn) != CONNECTION_OK)
		die("connect", conn);
	return conn;
}

/* Run sql and return its single value (static buffer), or die. */
static const char *
scalar(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	static char buf[256];
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		die(sql, conn);
	snprintf(buf, sizeof(buf), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return buf;
}

static void
new_session(PGconn *conn, char *id, size_t idlen, long *version)
{
	PGresult   *res = PQexec(conn,
							 "SELECT id, version FROM agent_sessions.start_session("
							 " (agent_sessions.create_session(user_id => 'bench', prompt => 'wait')).id)");

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die("create a session", conn);
	snprintf(id, idlen, "%s", PQgetvalue(res, 0, 0));
	*version = atol(PQgetvalue(res, 0, 1));
	PQclear(res);
}

/* Until the backend "pid" sleeps in a wait (latch or pg_sleep). */
static void
await_sleeping(PGconn *probe, const char *pid, int count)
{
	char		want[16];
	const char *params[1] = {pid};

	snprintf(want, sizeof(want), "%d", count);
	for (;;)
	{
		const char *n = scalar(probe,
							   "SELECT count(*) FROM pg_catalog.pg_stat_activity"
							   " WHERE pid = ANY (string_to_array($1, ',')::int[])"
							   "   AND state = 'active'"
							   "   AND (wait_event_type = 'Extension' OR wait_event = 'PgSleep')",
							   1, params);

		if (strcmp(n, want) == 0)
			return;
		usleep(200);
	}
}

/* Send sql with params on conn without waiting. */
static void
send_query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		die("send", conn);
}

/*
 * Collect the results of both connections, stamping when each completes,
 * and copy the first value of each into avalue and bvalue.
 */
static void
collect_both(PGconn *a, double *ta, char *avalue, PGconn *b, double *tb, char *bvalue)
{
	PGconn	   *conns[2] = {a, b};
	double	   *stamps[2] = {ta, tb};
	char	   *values[2] = {avalue, bvalue};
	int			done[2] = {0, 0};

	while (!done[0] || !done[1])
	{
		fd_set		fds;
		int			maxfd = -1;
		int			i;

		FD_ZERO(&fds);
		for (i = 0; i < 2; i++)
			if (!done[i])
			{
				FD_SET(PQsocket(conns[i]), &fds);
				if (PQsocket(conns[i]) > maxfd)
					maxfd = PQsocket(conns[i]);
			}
		if (select(maxfd + 1, &fds, NULL, NULL, NULL) < 0 && errno != EINTR)
			die("select", NULL);
		for (i = 0; i < 2; i++)
		{
			PGresult   *res;

			if (done[i] || !FD_ISSET(PQsocket(conns[i]), &fds))
				continue;
			if (!PQconsumeInput(conns[i]))
				die("read", conns[i]);
			if (PQisBusy(conns[i]))
				continue;
			*stamps[i] = now_ms();
			while ((res = PQgetResult(conns[i])) != NULL)
			{
				if (PQresultStatus(res) != PGRES_TUPLES_OK)
					die("statement", conns[i]);
				snprintf(values[i], 32, "%s", PQgetvalue(res, 0, 0));
				PQclear(res);
			}
			done[i] = 1;
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
percentile(double *sorted, int n, double p)
{
	int			i = (int) (p * (n - 1) + 0.5);

	return sorted[i];
}

static void
latency(int wakes, int max_delay_ms)
{
	PGconn	   *writer = connect_db();
	PGconn	   *waiter = connect_db();
	char		id[64];
	char		pid[16];
	long		version;
	double	   *lat = malloc(sizeof(double) * wakes);
	char		wait_sql[256];
	int			first = 0;
	int			i;

	new_session(writer, id, sizeof(id), &version);
	snprintf(pid, sizeof(pid), "%s", scalar(waiter, "SELECT pg_backend_pid()", 0, NULL));
	snprintf(wait_sql, sizeof(wait_sql),
			 "SELECT version FROM %s($1::uuid, 30, $2::bigint)", function);

	for (i = 0; i < wakes; i++)
	{
		char		since[32];
		const char *wparams[2] = {id, since};
		const char *hparams[2] = {id, (i % 2 == 0) ? "idle" : "busy"};
		char		wvalue[32];
		char		hvalue[32];
		double		t_waiter;
		double		t_writer;

		snprintf(since, sizeof(since), "%ld", version);
		send_query(waiter, wait_sql, 2, wparams);
		await_sleeping(writer, pid, 1);
		if (max_delay_ms > 0)
			usleep((useconds_t) (rand() % (max_delay_ms * 1000)));

		send_query(writer,
			 "SELECT version FROM agent_sessions.heartbeat($1::uuid,"
			 " $2::agent_sessions.session_activity)", 2, hparams);
		collect_both(waiter, &t_waiter, wvalue, writer, &t_writer, hvalue);

		version = atol(hvalue);
		if (atol(wvalue) != version)
			die("the waiter returned another version than the writer wrote", NULL);
		/* 0 when the waiter's row was there before the writer's reply */
		if (t_waiter <= t_writer)
		{
			lat[i] = 0;
			first++;
		}
		else
			lat[i] = t_waiter - t_writer;
	}

	qsort(lat, wakes, sizeof(double), cmp_double);
	printf("p50_ms=%.3f p99_ms=%.3f max_ms=%.3f n=%d waiter_first=%d\n",
		   percentile(lat, wakes, 0.50), percentile(lat, wakes, 0.99),
		   lat[wakes - 1], wakes, first);
	PQfinish(waiter);
	PQfinish(writer);
	free(lat);
}

/* CPU time the process has used, in milliseconds. */
static double
cpu_ms(int pid)
{
	char		path[64];
	FILE	   *f;
	double		result = -1;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	if ((f = fopen(path, "r")) != NULL)
	{
		unsigned long long ns;

		if (fscanf(f, "%llu", &ns) == 1 && ns > 0)
			result = ns / 1e6;
		fclose(f);
	}
	if (result < 0)
	{
		unsigned long utime,
					stime;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			die(path, NULL);
		if (fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				   &utime, &stime) != 2)
			die(path, NULL);
		fclose(f);
		result = (utime + stime) * 1000.0 / sysconf(_SC_CLK_TCK);
	}
	return result;
}

static void
idle_cpu(int nwaiters, int seconds)
{
	PGconn	   *probe = connect_db();
	PGconn	  **conns = malloc(sizeof(PGconn *) * nwaiters);
	int		   *pids = malloc(sizeof(int) * nwaiters);
	char	   *pidlist = malloc(16 * nwaiters + 1);
	char		id[64];
	char		since[32];
	char		wait_sql[256];
	long		version;
	double		before = 0;
	double		after = 0;
	int			i;

	new_session(probe, id, sizeof(id), &version);
	snprintf(since, sizeof(since), "%ld", version);
	snprintf(wait_sql, sizeof(wait_sql),
			 "SELECT version FROM %s($1::uuid, 60, $2::bigint)", function);
	pidlist[0] = '\0';

	/*
	 * A backend that goes idle with statistics it may not flush yet (its
	 * last flush was less than PGSTAT_MIN_INTERVAL, 1 s, ago) sets a timer
	 * to flush them up to 10 s later (PGSTAT_IDLE_INTERVAL), and that timer
	 * wakes it once, whatever it is doing by then, such as waiting.  A new
	 * backend flushes everything when it first goes idle, so each waiter
	 * runs nothing before its wait (its pid comes with the connection), and
	 * the connections are made one after the other, so that no two flush
	 * at once and find each other's locks taken.
	 */
	for (i = 0; i < nwaiters; i++)
	{
		const char *params[2] = {id, since};

		conns[i] = connect_db();
		pids[i] = PQbackendPID(conns[i]);
		sprintf(pidlist + strlen(pidlist), "%s%d", i ? "," : "", pids[i]);
		send_query(conns[i], wait_sql, 2, params);
	}
	await_sleeping(probe, pidlist, nwaiters);

	/*
	 * Measure the steady state: a polling wait backs off to its longest
	 * interval within its first 1.2 s.
	 */
	sleep(2);

	for (i = 0; i < nwaiters; i++)
		before += cpu_ms(pids[i]);
	sleep(seconds);
	for (i = 0; i < nwaiters; i++)
		after += cpu_ms(pids[i]);

	printf("cpu_ms_per_s=%.3f waiters=%d seconds=%d\n",
		   (after - before) / seconds, nwaiters, seconds);

	for (i = 0; i < nwaiters; i++)
	{
		char		err[256];
		PGcancel   *cancel = PQgetCancel(conns[i]);
		PGresult   *res;

		PQcancel(cancel, err, sizeof(err));
		PQfreeCancel(cancel);
		while ((res = PQgetResult(conns[i])) != NULL)
			PQclear(res);
		PQfinish(conns[i]);
	}
	PQfinish(probe);
	free(conns);
	free(pids);
	free(pidlist);
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int			n = -1;
	int			delay_ms = 5;
	int			seconds = 10;
	int			opt;

	if (argc > 1)
		optind = 2;
	while ((opt = getopt(argc, argv, "n:d:s:f:")) != -1)
	{
		switch (opt)
		{
			case 'n':
				n = atoi(optarg);
				break;
			case 'd':
				delay_ms = atoi(optarg);
				break;
			case 's':
				seconds = atoi(optarg);
				break;
			case 'f':
				function = optarg;
				break;
			default:
				goto usage;
		}
	}
	srand(42);

	if (strcmp(mode, "latency") == 0)
	{
		if (n < 0)
			n = 1000;
		if (n < 1 || delay_ms < 0)
			goto usage;
		latency(n, delay_ms);
		return 0;
	}
	if (strcmp(mode, "idle-cpu") == 0)
	{
		if (n < 0)
			n = 50;
		if (n < 1 || seconds < 1 || seconds > 45)
			goto usage;
		idle_cpu(n, seconds);
		return 0;
	}

usage:
	fprintf(stderr,
			"usage: wait_latency latency [-n WAKES] [-d MAX_DELAY_MS] [-f FUNCTION]\n"
			"       wait_latency idle-cpu [-n WAITERS] [-s SECONDS] [-f FUNCTION]\n");
	return 2;
}
