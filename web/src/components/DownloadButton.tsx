import { useState } from "react";
import { S } from "../i18n";
import { ErrorMessage } from "./common";

/** Save a Blob under a file name (the bearer token keeps a plain link from working, so the file is fetched first). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A button that fetches a document (a PDF) and saves it; an error is shown under it. */
export function DownloadButton({ label, fileName, fetch }: { label: string; fileName: string; fetch: () => Promise<Blob> }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      saveBlob(await fetch(), fileName);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn btn-ghost" onClick={() => void run()} disabled={busy} aria-busy={busy}>
        {busy ? S.documents.preparing : label}
      </button>
      <ErrorMessage error={error} />
    </>
  );
}
