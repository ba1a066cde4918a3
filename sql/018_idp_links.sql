-- 018_idp_links.sql - accounts at other OAuth servers that a signed-in user
-- links for the tools that call those servers as them (an idp line with
-- link_only=yes, a backend credential slot with "from_idp": that name).
--
-- Their tokens are kept like those of the sign-in (016_idp_tokens.sql):
-- sealed, refreshed once across processes under the row's lease. A user
-- now has one row per provider: the one they signed in at (linked false)
-- and each they linked (linked true). A refresh the sign-in's provider
-- refuses ends the user's mcpgate tokens; one a linked server refuses only
-- forgets that link.
ALTER TABLE idp_tokens ADD COLUMN linked boolean NOT NULL DEFAULT false;
ALTER TABLE idp_tokens DROP CONSTRAINT idp_tokens_pkey;
ALTER TABLE idp_tokens ADD PRIMARY KEY (user_id, idp);
