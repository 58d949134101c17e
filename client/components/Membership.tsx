import type { MembershipView } from '../room';

interface Props {
  membership: MembershipView;
  onSwitch: (which: 'lobby' | 'lock', on: boolean) => void;
}

/**
 * The room's two switches (PROTOCOL.md §12). Any member who is in may flip
 * them; every member's client honours the result, the relay cannot.
 */
export function MembershipSwitches({ membership: m, onSwitch }: Props) {
  return (
    <section class="membership" aria-labelledby="membership-title">
      <h2 id="membership-title">Who can come in</h2>
      <Switch label="Ask to join" hint="Newcomers wait until someone here lets them in" isOn={m.lobby} isDisabled={!m.canDecide} onChange={(on) => onSwitch('lobby', on)} />
      <Switch label="Lock room" hint="Nobody new can join; knocks are turned away" isOn={m.locked} isDisabled={!m.canDecide} onChange={(on) => onSwitch('lock', on)} />
    </section>
  );
}

function Switch({ label, hint, isOn, isDisabled, onChange }: { label: string; hint: string; isOn: boolean; isDisabled: boolean; onChange: (on: boolean) => void }) {
  const id = `switch-${label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="switch-row">
      <button type="button" role="switch" id={id} class="switch" aria-checked={isOn} aria-describedby={`${id}-hint`} disabled={isDisabled} onClick={() => onChange(!isOn)}>
        <span class="knob" aria-hidden="true" />
        {label}
      </button>
      <span id={`${id}-hint`} class="hint">{hint}</span>
    </div>
  );
}
