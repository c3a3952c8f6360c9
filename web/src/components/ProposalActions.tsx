import { useId, useState } from "react";
import type { Proposal, ProposalStatus } from "../api";
import { useApi } from "../app/session";
import { S } from "../i18n";
import { ErrorMessage } from "./common";

const NEGATIVE = new Set<string>(["rejected", "withdrawn", "failed"]);

/**
 * The state changes the caller may make now: exactly the server's `allowed_for_me`, one button each, with an
 * optional note. A refused change (409, someone moved it first) shows the server's reason and allowed states.
 */
export function ProposalActions({ proposal, onChanged }: { proposal: Proposal; onChanged: (p: Proposal) => void }) {
  const api = useApi();
  const noteId = useId();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState<ProposalStatus | null>(null);
  const [error, setError] = useState<unknown>(null);
  const allowed = proposal.allowed_for_me ?? [];

  if (allowed.length === 0) {
    return <p className="muted">{S.deals.noActions}</p>;
  }

  const move = async (status: ProposalStatus) => {
    setBusy(status);
    setError(null);
    try {
      const updated = await api.changeProposalStatus(proposal.id, status, note.trim() || undefined);
      setNote("");
      onChanged(updated);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="proposal-actions">
      <label htmlFor={noteId} className="field-label">
        {S.deals.note}
      </label>
      <textarea id={noteId} rows={2} value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} />
      <div className="button-row">
        {allowed.map((status) => (
          <button
            key={status}
            type="button"
            data-status={status}
            className={`btn ${NEGATIVE.has(status) ? "btn-danger" : "btn-primary"}`}
            disabled={busy !== null}
            onClick={() => void move(status)}
          >
            {busy === status ? S.app.loading : (S.deals.actions[status] ?? status)}
          </button>
        ))}
      </div>
      <ErrorMessage error={error} />
    </div>
  );
}
