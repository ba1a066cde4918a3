/*
 * store/policy.h - tool policy rules, groups, and telling sessions that
 * their tool list changed (tables tool_policies, user_groups,
 * group_members from sql/007_policy.sql).
 *
 * Owns: which rules apply to a user (their own, their groups', everyone's)
 * and how rules are added and removed. The decision itself is
 * tools/policy.h's.
 */
#ifndef MG_STORE_POLICY_H
#define MG_STORE_POLICY_H

#include "store/db.h"
#include "util/policy.h"

/* Loads the rules that apply to user_id into p (p->default_allow is left
 * as it is). Returns STORE_OK or a failure. Free with tool_policy_free(). */
__attribute__((warn_unused_result)) enum store_rc
store_policy_load(struct store_conn *c, long long user_id, struct tool_policy *p);

/* Adds a rule for a user (user != NULL), a group (group != NULL) or
 * everyone (both NULL). effect is "allow" or "deny". Writes the rule's id.
 * Returns STORE_OK, STORE_NOT_FOUND when the user or group does not exist,
 * or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_policy_add(struct store_conn *c, const char *user, const char *group, const char *effect,
                 const char *pattern, long long *id);

/* Removes rule id; writes the user it applied to (0: a group or everyone)
 * to *user_id. Returns STORE_OK, STORE_NOT_FOUND or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_policy_remove(struct store_conn *c, long long id, long long *user_id);

struct store_policy_row {
    const char *id, *subject, *effect, *pattern, *created_at;
};

/* Calls fn for every rule (user != NULL: those that apply to that user).
 * Returns STORE_OK, STORE_NOT_FOUND (no such user) or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_policy_list(struct store_conn *c, const char *user,
                  void (*fn)(const struct store_policy_row *row, void *arg), void *arg);

/* Adds user to group (creating the group) or removes them. Returns
 * STORE_OK, STORE_NOT_FOUND (no such user, or not a member) or a failure. */
__attribute__((warn_unused_result)) enum store_rc
store_group_member(struct store_conn *c, const char *group, const char *user, int add);

/* Makes the groups of user_id exactly groups (n names, each a valid group
 * name; groups are created when missing), as an identity provider's
 * "groups" claim says at sign-in. Writes how many memberships were added or
 * removed to *changed. STORE_OK or a failure; one statement. */
__attribute__((warn_unused_result)) enum store_rc store_group_sync(struct store_conn *c,
                                                                   long long user_id,
                                                                   const char *const *groups, int n,
                                                                   int *changed);

/* Sends notifications/tools/list_changed to the live sessions of user
 * (by name; NULL: every session). Writes how many were told. */
__attribute__((warn_unused_result)) enum store_rc
store_tools_changed(struct store_conn *c, const char *user, int *sessions);

#endif
