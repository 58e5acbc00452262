-- The accounts snapshot of the app $app.
SELECT $app AS app, id AS account_id, user_name, email, external_id,
       coalesce(lower(active_text) = 'true', true) AS active,
       NULL::TIMESTAMPTZ AS last_login_at, created_at, attributes
FROM accts ORDER BY account_id
