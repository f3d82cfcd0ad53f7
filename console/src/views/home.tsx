// The start page: find a user or a resource by name and go to its page.
import { useState } from "preact/hooks";
import { gql } from "../api";
import { ErrorBox, Section } from "../components";
import { navigate } from "../router";
import { enc } from "../util";

const FIND = `query Find($q: String!) {
  byName: user(username: $q) { id } byEmail: user(email: $q) { id }
  system(hostname: $q) { id } application(name: $q) { id } group(name: $q) { id name }
}`;

export function HomeView(_: { params: URLSearchParams }) {
  const [q, setQ] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function find(e: Event) {
    e.preventDefault();
    const text = q.trim();
    if (!text) return;
    setError(null);
    try {
      const d = await gql(FIND, { q: text });
      const user = d.byName || d.byEmail;
      if (user) return navigate(`/users/${enc(user.id)}`);
      const res = d.system || d.application;
      if (res) return navigate(`/resources/${enc(res.id)}`);
      if (d.group) return navigate(`/activity?f=${enc(`resource.id=${d.group.id}`)}`);
      setError(`No user, system or application is named ${JSON.stringify(text)} in this organization.`);
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <>
      <h1>Investigate</h1>
      <Section title="Find a user or resource" id="find">
        <form onSubmit={find} class="row">
          <label>Username, email, hostname or application
            <input name="find" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} autoFocus />
          </label>
          <button type="submit">Find</button>
        </form>
        <ErrorBox message={error} />
      </Section>
      <Section title="Start from" id="start">
        <ul class="links">
          <li><a href="/activity">Activity log</a>: every event, filtered, charted and exported.</li>
          <li><a href="/investigations">Investigations</a>: failed-login bursts, access after revocation,
            new-country sign-ins, and a live tail.</li>
          <li><a href="/reports">Audit reports</a>: users to groups, systems and applications at any instant.</li>
        </ul>
      </Section>
    </>
  );
}
