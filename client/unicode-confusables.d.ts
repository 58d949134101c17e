/** unicode-confusables ships no types (its package.json names a file the package lacks). A CommonJS module: use its default export. */
declare module 'unicode-confusables' {
  const confusables: {
    /** Replaces each character by its UTS #39 prototype (confusables.txt) and drops a few zero-width ones. */
    rectifyConfusion(text: string): string;
  };
  export default confusables;
}
