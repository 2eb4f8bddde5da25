import { type Kysely, sql } from 'kysely';

// Frozen once landed: later changes are new migrations. Imports nothing from the app.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('members')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('active', 'erased', 'merged')`),
    )
    // The profile is the person's, shared by every program they joined; erasure nulls it.
    .addColumn('name', 'text')
    .addColumn('birthday', 'date')
    .addColumn('gender', 'text', (c) =>
      c.check(sql`gender in ('female', 'male', 'other', 'undisclosed')`),
    )
    .addColumn('address', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('erased_at', 'timestamptz')
    .addColumn('merged_into', 'text', (c) => c.references('members.id'))
    .execute();

  await db.schema
    .createTable('identifiers')
    .addColumn('type', 'text', (c) =>
      c
        .notNull()
        .check(
          sql`type in ('phone', 'email', 'wechat_openid', 'alipay_user_id', 'card_number', 'external_id')`,
        ),
    )
    // '' for identifiers that are global; the program's id for card_number and external_id.
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    // An identifier belongs to at most one member: enforced here, not only in code.
    .addPrimaryKeyConstraint('identifiers_pk', ['type', 'scope', 'value'])
    .addCheckConstraint(
      'identifiers_scope_matches_type',
      sql`(type in ('card_number', 'external_id')) = (scope <> '')`,
    )
    .execute();
  await db.schema
    .createIndex('identifiers_member_idx')
    .on('identifiers')
    .column('member_id')
    .execute();

  await db.schema
    .createTable('enrollments')
    .addColumn('program_id', 'text', (c) => c.notNull().references('programs.id'))
    .addColumn('member_id', 'text', (c) => c.notNull().references('members.id'))
    .addColumn('enrolled_at', 'timestamptz', (c) => c.notNull())
    .addColumn('channel', 'text', (c) =>
      c.notNull().check(sql`channel in ('pos', 'app', 'web', 'payment', 'import')`),
    )
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'blocked')`))
    .addColumn('blocked_reason', 'text')
    .addColumn('blocked_at', 'timestamptz')
    .addColumn('activated_at', 'timestamptz')
    // Consents are given to a brand, not to the coalition: { "marketing": true, … }
    .addColumn('consents', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addPrimaryKeyConstraint('enrollments_pk', ['program_id', 'member_id'])
    .execute();
  await db.schema
    .createIndex('enrollments_member_idx')
    .on('enrollments')
    .column('member_id')
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('actor_key_id', 'text')
    .addColumn('program_id', 'text')
    .addColumn('member_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .execute();
  await db.schema
    .createIndex('audit_program_idx')
    .on('audit_log')
    .columns(['program_id', 'id'])
    .execute();
  await db.schema
    .createIndex('audit_member_idx')
    .on('audit_log')
    .columns(['member_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_log').execute();
  await db.schema.dropTable('enrollments').execute();
  await db.schema.dropTable('identifiers').execute();
  await db.schema.dropTable('members').execute();
}
