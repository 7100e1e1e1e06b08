// What the admin elements share: the widget's element (without the engine:
// nothing here needs it) with the admin API client.
import { WidgetElement } from '../element.js';
import { AdminClient } from './api.js';
import './messages.js';

export class AdminElement extends WidgetElement {
  static Client = AdminClient;
}
