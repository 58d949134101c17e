import { Component, h, type ComponentType, type FunctionComponent } from 'preact';
import { isShallowEqual } from '../stable-view';

/**
 * `render` as a component that renders again only when a prop changed
 * identity (Preact's own memo lives in preact/compat, which the bundle does
 * not carry). The room hands the same objects and callbacks while nothing
 * changed (stable-view.ts, use-room.ts), so a message arriving leaves the
 * parts built this way alone (issue #19). Their own state still renders them.
 */
export function memo<P extends object>(render: FunctionComponent<P>): ComponentType<P> {
  return class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      return !isShallowEqual(this.props, next);
    }

    override render() {
      return h(render, this.props);
    }
  };
}
