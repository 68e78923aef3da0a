-- The activity table before migration 0012 (a_old) and after it (a_new); see run.sh.
drop table if exists a_old, a_new;
create table a_old (
  id uuid primary key, workspace_id uuid, actor_type text not null, actor_id uuid,
  type text not null, entity_type text not null, entity_id uuid not null, entity_title text,
  changes jsonb not null default '{}', created_at timestamptz not null default now());
create index on a_old (actor_id, created_at desc, id desc);
create index on a_old (workspace_id, created_at desc, id desc);
create index on a_old (entity_type, entity_id, created_at desc, id desc);
create table a_new (like a_old including defaults);
alter table a_new add primary key (id);
alter table a_new add column tx xid8 not null default pg_current_xact_id();
create index on a_new (actor_id, created_at desc, id desc);
create index on a_new (entity_type, entity_id, created_at desc, id desc);
create index on a_new (workspace_id, tx, id);
create index on a_new (tx, id);
create index on a_new (actor_id, tx, id) where workspace_id is null;
-- 1,000 workspaces and users; 300,000 past events each
insert into a_old (id, workspace_id, actor_type, actor_id, type, entity_type, entity_id, entity_title, changes, created_at)
select gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad((g % 1000)::text, 12, '0'))::uuid, 'user',
  ('00000000-0000-0000-0001-' || lpad((g % 1000)::text, 12, '0'))::uuid, 'task.updated', 'task', gen_random_uuid(),
  'A task title of some length', '{"title":{"from":"a","to":"b"}}', now() - (g || ' seconds')::interval
from generate_series(1, 300000) g;
insert into a_new (id, workspace_id, actor_type, actor_id, type, entity_type, entity_id, entity_title, changes, created_at)
select id, workspace_id, actor_type, actor_id, type, entity_type, entity_id, entity_title, changes, created_at from a_old;
vacuum analyze a_old; vacuum analyze a_new;
