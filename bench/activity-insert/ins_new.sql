\set w random(0, 999)
insert into a_new (id, workspace_id, actor_type, actor_id, type, entity_type, entity_id, entity_title, changes)
values (gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad(:w::text, 12, '0'))::uuid, 'user',
  ('00000000-0000-0000-0001-' || lpad(:w::text, 12, '0'))::uuid, 'task.updated', 'task', gen_random_uuid(),
  'A task title of some length', '{"title":{"from":"a","to":"b"}}');
