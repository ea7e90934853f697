/* SPDX-License-Identifier: MIT */
/*
 * connstate.h: the state of the two TWS sessions as every view sees it, and
 * the one encoding of that state in SLOB_COLD_CONN records.
 *
 * The sessions (engine/tws_conn.c) report each change as a SLOB_COLD_CONN
 * record whose text code is slob_conn_code(session, state); the cold thread
 * applies it to the stats file (engine/stats.c), from which `slobctl
 * status`, the dashboard's /api/status and /metrics read it. Producers and
 * readers use only the helpers below, never their own numbers (a producer
 * once wrote bare 0/1/2 while the stats file decoded session << 8 | state,
 * so a session that traded showed as down).
 *
 * Notes
 *  1. States, in the order a session normally passes them:
 *       DOWN -> CONNECTING -> UP [-> RECONCILED (orders only)] -> DOWN ...
 *     DOWN: closed, a reconnect is scheduled (backoff). CONNECTING: TCP
 *     connect and API handshake under way. UP: the API session is ready
 *     (nextValidId). RECONCILED: the order session has compared positions,
 *     open orders and executions with the store; only then may it trade.
 *     DISABLED: the run has no such session (a replay against files).
 *  2. A session counts as connected in UP and RECONCILED
 *     (slob_conn_state_connected); a change from a connected state to
 *     DOWN or CONNECTING is one drop.
 *  3. The values are part of the stats file layout: append, never renumber.
 */
#ifndef SLOB_CONNSTATE_H
#define SLOB_CONNSTATE_H

#include <stdbool.h>
#include <stdint.h>

enum slob_conn_session {
	SLOB_CONN_MD = 0,     /* market data */
	SLOB_CONN_ORDERS = 1, /* orders and reconciliation */
	SLOB_CONN_NSESSIONS = 2
};

enum slob_conn_state {
	SLOB_CONN_DOWN = 0,
	SLOB_CONN_CONNECTING = 1,
	SLOB_CONN_UP = 2,
	SLOB_CONN_DISABLED = 3,
	SLOB_CONN_RECONCILED = 4,
	SLOB_CONN_NSTATES = 5
};

/* Text code of a SLOB_COLD_CONN record. */
static inline int32_t slob_conn_code(unsigned session, unsigned state)
{
	return (int32_t)(((session & 0xffu) << 8) | (state & 0xffu));
}

static inline unsigned slob_conn_code_session(int32_t code)
{
	return ((uint32_t)code >> 8) & 0xffu;
}

static inline unsigned slob_conn_code_state(int32_t code)
{
	return (uint32_t)code & 0xffu;
}

static inline bool slob_conn_state_connected(int state)
{
	return state == SLOB_CONN_UP || state == SLOB_CONN_RECONCILED;
}

/* "down", "connecting", "up", "disabled", "reconciled"; "?" otherwise. */
static inline const char *slob_conn_state_name(int state)
{
	switch (state) {
	case SLOB_CONN_DOWN:
		return "down";
	case SLOB_CONN_CONNECTING:
		return "connecting";
	case SLOB_CONN_UP:
		return "up";
	case SLOB_CONN_DISABLED:
		return "disabled";
	case SLOB_CONN_RECONCILED:
		return "reconciled";
	default:
		return "?";
	}
}

/* Machine name of a session ("market_data", "orders"), as JSON keys and
 * metric labels use it. */
static inline const char *slob_conn_session_name(unsigned session)
{
	return session == SLOB_CONN_MD ? "market_data" : session == SLOB_CONN_ORDERS ? "orders" : "?";
}

#endif /* SLOB_CONNSTATE_H */
