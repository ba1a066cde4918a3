/*
 * tools/policy.h - which tools a connector serves.
 *
 * Owns: the connector's filters over the tool table (util/config.h). The
 * user's allow and deny rules are util/policy.h (loaded by store/policy.h).
 */
#ifndef MG_TOOLS_POLICY_H
#define MG_TOOLS_POLICY_H

#include "tools/registry.h"
#include "util/config.h"
#include "util/policy.h"

/* Returns 1 when the tool d is in connector c's set: it passes every
 * filter c gives (backend, tag, name pattern, access class; within one,
 * any listed value will do). c NULL stands for the whole server: 1. */
int tool_connector_has(const struct mg_connector *c, const struct tool_def *d);

#endif
